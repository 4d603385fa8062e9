// Transpose by any permutation: each output element finds its source through the permuted
// strides (passed by value).
#include "engine_impl.h"

using namespace alto::cuda;

namespace {

struct Permuted {
  int64_t out_shape[ALTO_ENGINE_MAX_RANK];
  int64_t src_stride[ALTO_ENGINE_MAX_RANK];  // the source stride of each output dim
  int32_t rank;
};

template <typename T>
__global__ void transpose_kernel(const T* x, T* y, Permuted p, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    int64_t rest = i, src = 0;
    for (int d = p.rank - 1; d >= 0; --d) {
      src += (rest % p.out_shape[d]) * p.src_stride[d];
      rest /= p.out_shape[d];
    }
    y[i] = x[src];
  }
}

}  // namespace

extern "C" alto_status alto_engine_transpose(alto_engine* e, const void* x, void* y, const int64_t* shape, const int32_t* perm, int32_t rank,
                                             int32_t elem_bytes) {
  if (alto_status st = engine_enter(e); st != ALTO_OK) return st;
  if (rank < 1 || rank > ALTO_ENGINE_MAX_RANK) return engine_invalid(e, "transpose: rank out of range");
  int64_t stride[ALTO_ENGINE_MAX_RANK], n = 1;
  for (int d = rank - 1; d >= 0; --d) {
    stride[d] = n;
    n *= shape[d];
  }
  Permuted p{};
  p.rank = rank;
  bool seen[ALTO_ENGINE_MAX_RANK] = {};
  for (int d = 0; d < rank; ++d) {
    if (perm[d] < 0 || perm[d] >= rank || seen[perm[d]]) return engine_invalid(e, "transpose: perm is not a permutation");
    seen[perm[d]] = true;
    p.out_shape[d] = shape[perm[d]];
    p.src_stride[d] = stride[perm[d]];
  }
  if (n <= 0) return ALTO_OK;
  switch (elem_bytes) {
    case 1: transpose_kernel<<<grid_for(n), 256, 0, e->stream>>>(static_cast<const uint8_t*>(x), static_cast<uint8_t*>(y), p, n); break;
    case 4: transpose_kernel<<<grid_for(n), 256, 0, e->stream>>>(static_cast<const uint32_t*>(x), static_cast<uint32_t*>(y), p, n); break;
    case 8: transpose_kernel<<<grid_for(n), 256, 0, e->stream>>>(static_cast<const uint64_t*>(x), static_cast<uint64_t*>(y), p, n); break;
    default: return engine_invalid(e, "transpose: element size must be 1, 4 or 8 bytes");
  }
  return engine_status(e, cudaGetLastError(), "transpose");
}
