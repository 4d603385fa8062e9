// Softmax and log-softmax over the last axis: one block per row, max then the sum of
// exponentials (both block-wide), then the row written.
#include "engine_impl.h"

using namespace alto::cuda;

namespace {

constexpr int kThreads = 256;

template <bool kMax>
__device__ float block_reduce(float v, float* scratch) {
  for (int off = 16; off > 0; off >>= 1) {
    const float o = __shfl_xor_sync(0xffffffffu, v, off);
    v = kMax ? fmaxf(v, o) : v + o;
  }
  if ((threadIdx.x & 31) == 0) scratch[threadIdx.x >> 5] = v;
  __syncthreads();
  v = scratch[0];
  for (int w = 1; w < kThreads / 32; ++w) v = kMax ? fmaxf(v, scratch[w]) : v + scratch[w];
  __syncthreads();
  return v;
}

__global__ void __launch_bounds__(kThreads) softmax_rows(const float* x, float* y, int64_t outer, int64_t inner, int log) {
  __shared__ float scratch[kThreads / 32];
  for (int64_t row = blockIdx.x; row < outer; row += gridDim.x) {
    const float* src = x + row * inner;
    float* dst = y + row * inner;
    float m = -INFINITY;
    for (int64_t i = threadIdx.x; i < inner; i += kThreads) m = fmaxf(m, src[i]);
    m = block_reduce<true>(m, scratch);
    float s = 0.0f;
    for (int64_t i = threadIdx.x; i < inner; i += kThreads) s += expf(src[i] - m);
    s = block_reduce<false>(s, scratch);
    const float log_s = logf(s);
    for (int64_t i = threadIdx.x; i < inner; i += kThreads) dst[i] = log ? src[i] - m - log_s : expf(src[i] - m) / s;
  }
}

}  // namespace

extern "C" alto_status alto_engine_softmax(alto_engine* e, const float* x, float* y, int64_t outer, int64_t inner, int32_t log) {
  if (alto_status st = engine_enter(e); st != ALTO_OK) return st;
  if (outer <= 0 || inner <= 0) return ALTO_OK;
  const unsigned grid = static_cast<unsigned>(outer < 65535LL * 16 ? outer : 65535LL * 16);
  softmax_rows<<<grid, kThreads, 0, e->stream>>>(x, y, outer, inner, log);
  return engine_status(e, cudaGetLastError(), "softmax");
}
