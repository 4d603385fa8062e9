// Transpose by any permutation, as planned by transpose_plan.h: each thread moves one unit (up
// to 16 bytes) of an output row and finds its source from the row's outer dims.
#include "engine_impl.h"
#include "transpose_plan.h"

using namespace alto::cuda;
using alto::engine::TransposePlan;

namespace {

static_assert(alto::engine::kTransposeMaxRank >= ALTO_ENGINE_MAX_RANK, "the plan holds every rank the engine takes");

// I: the index type, 32-bit where the tensor has fewer than 2^31 units.
template <typename U, typename I>
__global__ void transpose_units(const U* x, U* y, TransposePlan p) {
  const I row_units = static_cast<I>(p.row_units), total = static_cast<I>(p.rows) * row_units;
  for (I i = blockIdx.x * I(blockDim.x) + threadIdx.x; i < total; i += I(gridDim.x) * blockDim.x) {
    const I row = i / row_units;
    y[i] = x[alto::engine::transpose_source_row<I>(p, row) + (i - row * row_units)];
  }
}

template <typename U>
void launch_transpose(const void* x, void* y, const TransposePlan& p, cudaStream_t stream) {
  const int64_t units = p.rows * p.row_units;
  const unsigned grid = grid_for(units);
  if (units < (int64_t(1) << 31)) {
    transpose_units<U, int32_t><<<grid, 256, 0, stream>>>(static_cast<const U*>(x), static_cast<U*>(y), p);
  } else {
    transpose_units<U, int64_t><<<grid, 256, 0, stream>>>(static_cast<const U*>(x), static_cast<U*>(y), p);
  }
}

}  // namespace

extern "C" alto_status alto_engine_transpose(alto_engine* e, const void* x, void* y, const int64_t* shape, const int32_t* perm, int32_t rank,
                                             int32_t elem_bytes) {
  if (alto_status st = engine_enter(e); st != ALTO_OK) return st;
  if (rank < 1 || rank > ALTO_ENGINE_MAX_RANK) return engine_invalid(e, "transpose: rank out of range");
  if (elem_bytes != 1 && elem_bytes != 4 && elem_bytes != 8) return engine_invalid(e, "transpose: element size must be 1, 4 or 8 bytes");
  TransposePlan p;
  if (!alto::engine::plan_transpose(shape, perm, rank, elem_bytes, reinterpret_cast<uintptr_t>(x), reinterpret_cast<uintptr_t>(y), &p)) {
    return engine_invalid(e, "transpose: perm is not a permutation");
  }
  for (int d = 0; d < rank; ++d)
    if (shape[d] <= 0) return ALTO_OK;  // nothing to move
  switch (p.unit_bytes) {
    case 16: launch_transpose<uint4>(x, y, p, e->stream); break;
    case 8: launch_transpose<uint2>(x, y, p, e->stream); break;
    case 4: launch_transpose<uint32_t>(x, y, p, e->stream); break;
    case 2: launch_transpose<uint16_t>(x, y, p, e->stream); break;
    default: launch_transpose<uint8_t>(x, y, p, e->stream); break;
  }
  return engine_status(e, cudaGetLastError(), "transpose");
}
