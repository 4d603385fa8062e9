// RMSNorm and LayerNorm over the last axis, forward and backward, f32. Rows are normalised by
// one block each (block-wide sums); the weight (and bias) gradients sum down the columns, each
// block adding its rows' share with atomics.
#include <cuda_bf16.h>

#include "engine_impl.h"

using namespace alto::cuda;

namespace {

constexpr int kThreads = 256, kGradRows = 256;

__device__ float block_sum(float v, float* scratch) {
  for (int off = 16; off > 0; off >>= 1) v += __shfl_xor_sync(0xffffffffu, v, off);
  if ((threadIdx.x & 31) == 0) scratch[threadIdx.x >> 5] = v;
  __syncthreads();
  v = 0.0f;
  for (int w = 0; w < kThreads / 32; ++w) v += scratch[w];
  __syncthreads();
  return v;
}

// y = x · inv · g with inv = 1 / sqrt(mean(x²) + eps), kept per row for the backward; y16 (when
// given) the same values rounded to bf16, for the bf16 products that read y next.
__global__ void __launch_bounds__(kThreads) rms_norm_rows(const float* x, const float* g, float* y, __nv_bfloat16* y16, float* inv_rms, int64_t rows,
                                                          int64_t cols, float eps) {
  __shared__ float scratch[kThreads / 32];
  for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    const float* src = x + row * cols;
    float s = 0.0f;
    for (int64_t i = threadIdx.x; i < cols; i += kThreads) s += src[i] * src[i];
    const float inv = rsqrtf(block_sum(s, scratch) / static_cast<float>(cols) + eps);
    for (int64_t i = threadIdx.x; i < cols; i += kThreads) {
      const float v = src[i] * inv * g[i];
      y[row * cols + i] = v;
      if (y16) y16[row * cols + i] = __float2bfloat16_rn(v);
    }
    if (threadIdx.x == 0) inv_rms[row] = inv;
  }
}

// dx = inv · (g·dy − x · inv² · mean(g·dy·x)).
__global__ void __launch_bounds__(kThreads) rms_norm_grad_rows(const float* x, const float* g, const float* inv_rms, const float* dy, float* dx,
                                                               int64_t rows, int64_t cols) {
  __shared__ float scratch[kThreads / 32];
  for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    const float* xr = x + row * cols;
    const float* dyr = dy + row * cols;
    float s = 0.0f;
    for (int64_t i = threadIdx.x; i < cols; i += kThreads) s += g[i] * dyr[i] * xr[i];
    const float inv = inv_rms[row], c = block_sum(s, scratch) / static_cast<float>(cols) * inv * inv;
    for (int64_t i = threadIdx.x; i < cols; i += kThreads) dx[row * cols + i] = inv * (g[i] * dyr[i] - xr[i] * c);
  }
}

// dg[c] += Σ over this block's rows of dy · x · inv.
__global__ void __launch_bounds__(kThreads) rms_norm_grad_weight(const float* x, const float* inv_rms, const float* dy, float* dg, int64_t rows,
                                                                 int64_t cols) {
  const int64_t c = blockIdx.x * static_cast<int64_t>(kThreads) + threadIdx.x;
  if (c >= cols) return;
  const int64_t r0 = blockIdx.y * static_cast<int64_t>(kGradRows), r1 = r0 + kGradRows < rows ? r0 + kGradRows : rows;
  float s = 0.0f;
  for (int64_t r = r0; r < r1; ++r) s += dy[r * cols + c] * x[r * cols + c] * inv_rms[r];
  atomicAdd(dg + c, s);
}

// y = (x − mean) · inv · g + b with inv = 1 / sqrt(var + eps); mean and inv kept per row.
__global__ void __launch_bounds__(kThreads) layer_norm_rows(const float* x, const float* g, const float* b, float* y, float* mean_out,
                                                            float* inv_out, int64_t rows, int64_t cols, float eps) {
  __shared__ float scratch[kThreads / 32];
  for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    const float* src = x + row * cols;
    float s = 0.0f;
    for (int64_t i = threadIdx.x; i < cols; i += kThreads) s += src[i];
    const float mean = block_sum(s, scratch) / static_cast<float>(cols);
    float v = 0.0f;
    for (int64_t i = threadIdx.x; i < cols; i += kThreads) v += (src[i] - mean) * (src[i] - mean);
    const float inv = rsqrtf(block_sum(v, scratch) / static_cast<float>(cols) + eps);
    for (int64_t i = threadIdx.x; i < cols; i += kThreads) y[row * cols + i] = (src[i] - mean) * inv * g[i] + b[i];
    if (threadIdx.x == 0) {
      mean_out[row] = mean;
      inv_out[row] = inv;
    }
  }
}

// With x̂ = (x − mean)·inv and e = dy·g: dx = inv · (e − mean(e) − x̂ · mean(e·x̂)).
__global__ void __launch_bounds__(kThreads) layer_norm_grad_rows(const float* x, const float* g, const float* mean_in, const float* inv_in,
                                                                 const float* dy, float* dx, int64_t rows, int64_t cols) {
  __shared__ float scratch[kThreads / 32];
  for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    const float* xr = x + row * cols;
    const float* dyr = dy + row * cols;
    const float mean = mean_in[row], inv = inv_in[row];
    float se = 0.0f, sex = 0.0f;
    for (int64_t i = threadIdx.x; i < cols; i += kThreads) {
      const float e = dyr[i] * g[i];
      se += e;
      sex += e * (xr[i] - mean) * inv;
    }
    const float me = block_sum(se, scratch) / static_cast<float>(cols), mex = block_sum(sex, scratch) / static_cast<float>(cols);
    for (int64_t i = threadIdx.x; i < cols; i += kThreads) dx[row * cols + i] = inv * (dyr[i] * g[i] - me - (xr[i] - mean) * inv * mex);
  }
}

// dg[c] += Σ dy · x̂ and db[c] += Σ dy over this block's rows.
__global__ void __launch_bounds__(kThreads) layer_norm_grad_weight(const float* x, const float* mean_in, const float* inv_in, const float* dy,
                                                                   float* dg, float* db, int64_t rows, int64_t cols) {
  const int64_t c = blockIdx.x * static_cast<int64_t>(kThreads) + threadIdx.x;
  if (c >= cols) return;
  const int64_t r0 = blockIdx.y * static_cast<int64_t>(kGradRows), r1 = r0 + kGradRows < rows ? r0 + kGradRows : rows;
  float sg = 0.0f, sb = 0.0f;
  for (int64_t r = r0; r < r1; ++r) {
    const float d = dy[r * cols + c];
    sg += d * (x[r * cols + c] - mean_in[r]) * inv_in[r];
    sb += d;
  }
  atomicAdd(dg + c, sg);
  atomicAdd(db + c, sb);
}

unsigned row_grid(int64_t rows) { return static_cast<unsigned>(rows < 65535LL * 16 ? rows : 65535LL * 16); }

}  // namespace

extern "C" alto_status alto_engine_rms_norm(alto_engine* e, const float* x, const float* g, float* y, float* inv_rms, int64_t rows,
                                            int64_t cols, float eps, void* y_bf16) {
  if (alto_status st = engine_enter(e); st != ALTO_OK) return st;
  if (rows <= 0 || cols <= 0) return ALTO_OK;
  rms_norm_rows<<<row_grid(rows), kThreads, 0, e->stream>>>(x, g, y, static_cast<__nv_bfloat16*>(y_bf16), inv_rms, rows, cols, eps);
  return engine_status(e, cudaGetLastError(), "rms_norm");
}

extern "C" alto_status alto_engine_rms_norm_grad(alto_engine* e, const float* x, const float* g, const float* inv_rms, const float* dy,
                                                 float* dx, float* dg, int64_t rows, int64_t cols) {
  if (alto_status st = engine_enter(e); st != ALTO_OK) return st;
  if (cols <= 0) return ALTO_OK;
  cudaError_t err = cudaMemsetAsync(dg, 0, static_cast<size_t>(cols) * sizeof(float), e->stream);
  if (err == cudaSuccess && rows > 0) {
    rms_norm_grad_rows<<<row_grid(rows), kThreads, 0, e->stream>>>(x, g, inv_rms, dy, dx, rows, cols);
    const dim3 grid(static_cast<unsigned>((cols + kThreads - 1) / kThreads), static_cast<unsigned>((rows + kGradRows - 1) / kGradRows));
    rms_norm_grad_weight<<<grid, kThreads, 0, e->stream>>>(x, inv_rms, dy, dg, rows, cols);
    err = cudaGetLastError();
  }
  return engine_status(e, err, "rms_norm_grad");
}

extern "C" alto_status alto_engine_layer_norm(alto_engine* e, const float* x, const float* g, const float* b, float* y, float* mean,
                                              float* inv_std, int64_t rows, int64_t cols, float eps) {
  if (alto_status st = engine_enter(e); st != ALTO_OK) return st;
  if (rows <= 0 || cols <= 0) return ALTO_OK;
  layer_norm_rows<<<row_grid(rows), kThreads, 0, e->stream>>>(x, g, b, y, mean, inv_std, rows, cols, eps);
  return engine_status(e, cudaGetLastError(), "layer_norm");
}

extern "C" alto_status alto_engine_layer_norm_grad(alto_engine* e, const float* x, const float* g, const float* mean, const float* inv_std,
                                                   const float* dy, float* dx, float* dg, float* db, int64_t rows, int64_t cols) {
  if (alto_status st = engine_enter(e); st != ALTO_OK) return st;
  if (cols <= 0) return ALTO_OK;
  cudaError_t err = cudaMemsetAsync(dg, 0, static_cast<size_t>(cols) * sizeof(float), e->stream);
  if (err == cudaSuccess) err = cudaMemsetAsync(db, 0, static_cast<size_t>(cols) * sizeof(float), e->stream);
  if (err == cudaSuccess && rows > 0) {
    layer_norm_grad_rows<<<row_grid(rows), kThreads, 0, e->stream>>>(x, g, mean, inv_std, dy, dx, rows, cols);
    const dim3 grid(static_cast<unsigned>((cols + kThreads - 1) / kThreads), static_cast<unsigned>((rows + kGradRows - 1) / kGradRows));
    layer_norm_grad_weight<<<grid, kThreads, 0, e->stream>>>(x, mean, inv_std, dy, dg, db, rows, cols);
    err = cudaGetLastError();
  }
  return engine_status(e, err, "layer_norm_grad");
}
