// How the engine's transpose (layout.cu) moves a permuted tensor: planned on the host, with
// the per-thread index arithmetic shared with the device so that a host test
// (tests/transpose_plan_test.cpp) checks both against a plain transpose.
//
// The plan drops dims of size 1 and merges output dims that are also adjacent, in order, in
// the source; then each output row — the last dim, when it is contiguous in the source — is
// moved in units of up to 16 bytes, its source found once per unit from the outer dims. A
// transpose that keeps the last dim in place (attention heads: [B, T, H, dh] → [B, H, T, dh])
// thus moves whole 16-byte vectors with a few 32-bit divisions each, where the per-element
// kernel paid two 64-bit divisions per dim for every element.
//
// Example: [B 2, T 3, H 4, dh 8] float32 by (0, 2, 1, 3), both buffers 16-byte aligned. Source
// strides in floats: B 96, T 32, H 8, dh 1; no output dims merge. Rows of 8 floats = 2 units
// of 16 bytes; outer dims (output order) [B 2, H 4, T 3] with source strides in units
// [24, 2, 8]. Output row 5 = (b 0, h 1, t 2) → source unit 0·24 + 1·2 + 2·8 = 18, i.e. float
// 72 = (t 2, h 1) of batch 0.
#pragma once
#include <cstdint>

#if defined(__CUDACC__)
#define ALTO_HOST_DEVICE __host__ __device__
#else
#define ALTO_HOST_DEVICE
#endif

namespace alto::engine {

constexpr int kTransposeMaxRank = 12;  // ALTO_ENGINE_MAX_RANK (layout.cu checks)

struct TransposePlan {
  int32_t outer_rank = 0;                   // dims of the rows, output order
  int64_t outer_shape[kTransposeMaxRank] = {};
  int64_t outer_stride[kTransposeMaxRank] = {};  // source stride of each, in units
  int64_t rows = 1;                         // product of outer_shape
  int64_t row_units = 1;                    // units per row, contiguous in source and output
  int32_t unit_bytes = 1;                   // 1, 2, 4, 8 or 16
};

// Source offset (in units) of output row `row`.
template <typename I>
ALTO_HOST_DEVICE inline I transpose_source_row(const TransposePlan& p, I row) {
  I src = 0;
  for (int d = p.outer_rank - 1; d >= 0; --d) {
    const I size = static_cast<I>(p.outer_shape[d]);
    const I q = row / size;
    src += (row - q * size) * static_cast<I>(p.outer_stride[d]);
    row = q;
  }
  return src;
}

// The plan for y = x transposed by perm (y.shape[i] = shape[perm[i]]); false when rank or
// perm is invalid (rank 1..kTransposeMaxRank, perm a permutation). x and y are the buffers'
// addresses: the unit is as wide as their alignment allows.
inline bool plan_transpose(const int64_t* shape, const int32_t* perm, int32_t rank, int32_t elem_bytes, uintptr_t x, uintptr_t y, TransposePlan* plan) {
  if (rank < 1 || rank > kTransposeMaxRank || elem_bytes < 1) return false;
  int64_t src_stride[kTransposeMaxRank];
  bool seen[kTransposeMaxRank] = {};
  int64_t n = 1;
  for (int d = rank - 1; d >= 0; --d) {
    src_stride[d] = n;
    n *= shape[d];
  }
  // Output dims (size, source stride in elements), size-1 dims dropped, contiguous ones merged.
  int64_t size[kTransposeMaxRank], stride[kTransposeMaxRank];
  int dims = 0;
  for (int d = 0; d < rank; ++d) {
    if (perm[d] < 0 || perm[d] >= rank || seen[perm[d]]) return false;
    seen[perm[d]] = true;
    const int64_t s = shape[perm[d]], st = src_stride[perm[d]];
    if (s == 1) continue;
    if (dims > 0 && stride[dims - 1] == st * s) {
      size[dims - 1] *= s;
      stride[dims - 1] = st;
    } else {
      size[dims] = s;
      stride[dims] = st;
      ++dims;
    }
  }
  // The row: the last dim when the source holds it contiguously, else one element.
  const bool rows_contiguous = dims > 0 && stride[dims - 1] == 1;
  const int64_t row_elems = rows_contiguous ? size[dims - 1] : 1;
  const int outer = rows_contiguous ? dims - 1 : dims;
  int32_t unit = 16;
  auto fits = [&](int32_t u) {
    if ((row_elems * elem_bytes) % u != 0 || x % u != 0 || y % u != 0) return false;
    for (int d = 0; d < outer; ++d)
      if ((stride[d] * elem_bytes) % u != 0) return false;
    return true;
  };
  while (unit > 1 && !fits(unit)) unit /= 2;
  *plan = TransposePlan{};
  plan->outer_rank = outer;
  plan->unit_bytes = unit;
  plan->row_units = row_elems * elem_bytes / unit;
  for (int d = 0; d < outer; ++d) {
    plan->outer_shape[d] = size[d];
    plan->outer_stride[d] = stride[d] * elem_bytes / unit;
    plan->rows *= size[d];
  }
  return true;
}

}  // namespace alto::engine
