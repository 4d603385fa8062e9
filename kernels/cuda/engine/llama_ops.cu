// The Llama block's elementwise parts as single passes, f32: SwiGLU (silu(gate)·up) and
// rotary positions, forward and backward. As separate ops they are a dozen passes over
// FFN-wide tensors (SwiGLU) and seven over the query and key heads (rotation) per layer.
#include <cuda_bf16.h>

#include "engine_impl.h"

using namespace alto::cuda;

namespace {

__device__ __forceinline__ float sigmoid(float g) { return 1.0f / (1.0f + __expf(-g)); }

// y = g·σ(g)·u; y16 (when given) the same values rounded to bf16, for the product that reads y next.
__global__ void swiglu_kernel(const float* gate, const float* up, float* y, __nv_bfloat16* y16, int64_t n) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += stride) {
    const float g = gate[i], v = g * sigmoid(g) * up[i];
    y[i] = v;
    if (y16) y16[i] = __float2bfloat16_rn(v);
  }
}

// dgate = dy·u·σ(g)·(1 + g·(1 − σ(g))), dup = dy·g·σ(g).
__global__ void swiglu_grad_kernel(const float* gate, const float* up, const float* dy, float* dgate, float* dup, int64_t n) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += stride) {
    const float g = gate[i], s = sigmoid(g), d = dy[i];
    dgate[i] = d * up[i] * s * (1.0f + g * (1.0f - s));
    dup[i] = d * g * s;
  }
}

// Rotate-half rotary positions over [outer, seq, head_dim] (head_dim even, h = head_dim / 2);
// cos and sin are [seq, head_dim]. Each thread owns one pair (i, i + h) of one row:
//   forward  y[i] = x[i]·c[i] − x[i+h]·s[i],      y[i+h] = x[i+h]·c[i+h] + x[i]·s[i+h]
//   backward dx[i] = dy[i]·c[i] + dy[i+h]·s[i+h],  dx[i+h] = dy[i+h]·c[i+h] − dy[i]·s[i]
// (the transpose of the forward's linear map).
template <bool kBackward>
__global__ void rope_kernel(const float* x, const float* cos_t, const float* sin_t, float* y, int64_t pairs, int64_t seq, int64_t head_dim) {
  const int64_t h = head_dim / 2, stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t p = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; p < pairs; p += stride) {
    const int64_t row = p / h, i = p % h, t = row % seq;
    const int64_t a = row * head_dim + i, b = a + h, ca = t * head_dim + i, cb = ca + h;
    const float xa = x[a], xb = x[b];
    if constexpr (kBackward) {
      y[a] = xa * cos_t[ca] + xb * sin_t[cb];
      y[b] = xb * cos_t[cb] - xa * sin_t[ca];
    } else {
      y[a] = xa * cos_t[ca] - xb * sin_t[ca];
      y[b] = xb * cos_t[cb] + xa * sin_t[cb];
    }
  }
}

}  // namespace

extern "C" alto_status alto_engine_swiglu(alto_engine* e, const float* gate, const float* up, float* y, int64_t n, void* y_bf16) {
  if (alto_status st = engine_enter(e); st != ALTO_OK) return st;
  if (n <= 0) return ALTO_OK;
  swiglu_kernel<<<grid_for(n), 256, 0, e->stream>>>(gate, up, y, static_cast<__nv_bfloat16*>(y_bf16), n);
  return engine_status(e, cudaGetLastError(), "swiglu");
}

extern "C" alto_status alto_engine_swiglu_grad(alto_engine* e, const float* gate, const float* up, const float* dy, float* dgate, float* dup,
                                               int64_t n) {
  if (alto_status st = engine_enter(e); st != ALTO_OK) return st;
  if (n <= 0) return ALTO_OK;
  swiglu_grad_kernel<<<grid_for(n), 256, 0, e->stream>>>(gate, up, dy, dgate, dup, n);
  return engine_status(e, cudaGetLastError(), "swiglu_grad");
}

extern "C" alto_status alto_engine_rope(alto_engine* e, int32_t backward, const float* x, const float* cos_t, const float* sin_t, float* y,
                                        int64_t outer, int64_t seq, int64_t head_dim) {
  if (alto_status st = engine_enter(e); st != ALTO_OK) return st;
  if (head_dim % 2 != 0 || head_dim < 2) return engine_invalid(e, "rope: head_dim must be even");
  const int64_t pairs = outer * seq * (head_dim / 2);
  if (pairs <= 0) return ALTO_OK;
  if (backward) rope_kernel<true><<<grid_for(pairs), 256, 0, e->stream>>>(x, cos_t, sin_t, y, pairs, seq, head_dim);
  else rope_kernel<false><<<grid_for(pairs), 256, 0, e->stream>>>(x, cos_t, sin_t, y, pairs, seq, head_dim);
  return engine_status(e, cudaGetLastError(), "rope");
}
