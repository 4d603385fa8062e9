// AdamW over many tensors of one adapter in one launch, in place: blockIdx.y picks the
// tensor, the blocks along x stride over its elements. The arithmetic is the tfjs ops' of
// @alto/core's adamw step, one rounding per operation in the same order (no fused
// multiply-adds), so the fused update equals the composite one bit for bit.
#include <vector>

#include "engine_impl.h"

using namespace alto::cuda;

namespace {

struct AdamTensor {
  float* p;
  const float* g;
  float* m;
  float* v;
  int64_t n;
};

// In the order of alto_engine_adamw's `scalars`.
struct AdamScalars {
  float b1, one_minus_b1, b2, one_minus_b2, inv_sqrt_bc2, eps, decay, step;
};

__global__ void adamw_tensors(const AdamTensor* tensors, AdamScalars s) {
  const AdamTensor t = tensors[blockIdx.y];
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < t.n; i += int64_t(gridDim.x) * blockDim.x) {
    const float g = t.g[i];
    const float m = __fadd_rn(__fmul_rn(t.m[i], s.b1), __fmul_rn(g, s.one_minus_b1));
    const float v = __fadd_rn(__fmul_rn(t.v[i], s.b2), __fmul_rn(__fmul_rn(g, g), s.one_minus_b2));
    t.m[i] = m;
    t.v[i] = v;
    const float direction = __fdiv_rn(m, __fadd_rn(__fmul_rn(__fsqrt_rn(v), s.inv_sqrt_bc2), s.eps));
    t.p[i] = __fadd_rn(__fmul_rn(t.p[i], s.decay), __fmul_rn(direction, s.step));
  }
}

}  // namespace

extern "C" alto_status alto_engine_adamw(alto_engine* e, float* const* params, const float* const* grads, float* const* m, float* const* v,
                                         const int64_t* sizes, int64_t count, const float* scalars) {
  if (alto_status st = engine_enter(e); st != ALTO_OK) return st;
  if (count < 0 || count > 65535) return engine_invalid(e, "adamw: needs 0..65535 tensors per call");
  if (count == 0) return ALTO_OK;
  std::vector<AdamTensor> table(static_cast<size_t>(count));
  int64_t largest = 0;
  for (int64_t i = 0; i < count; ++i) {
    if (sizes[i] < 0) return engine_invalid(e, "adamw: a tensor size is negative");
    table[i] = {params[i], grads[i], m[i], v[i], sizes[i]};
    largest = sizes[i] > largest ? sizes[i] : largest;
  }
  void* device_table = nullptr;
  const size_t bytes = table.size() * sizeof(AdamTensor);
  cudaError_t err = e->pool->alloc(bytes, &device_table);
  if (err != cudaSuccess) return engine_status(e, err, "adamw (table)");
  // Copied into pinned memory before it returns (beyond the ring's size, staged by the driver), so `table` may go.
  err = ring_upload(e, device_table, table.data(), bytes);
  if (err == cudaSuccess) {
    const AdamScalars s{scalars[0], scalars[1], scalars[2], scalars[3], scalars[4], scalars[5], scalars[6], scalars[7]};
    constexpr int threads = 256;
    const int64_t blocks = (largest + threads - 1) / threads;
    const dim3 grid(static_cast<unsigned>(blocks < 64 ? (blocks > 0 ? blocks : 1) : 64), static_cast<unsigned>(count));
    adamw_tensors<<<grid, threads, 0, e->stream>>>(static_cast<const AdamTensor*>(device_table), s);
    err = cudaGetLastError();
  }
  e->pool->free(device_table);
  return engine_status(e, err, "adamw");
}
