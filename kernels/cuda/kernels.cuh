// The three kernel shapes behind every primitive (see forward.cu and backward.cu).
#pragma once
#include "tile.cuh"

namespace alto::cuda {

// Row-reduce: out[row, n] = scale_a · Σ_k big[row, k]·W(k, n), a reduction over d.
//   shrink: big = X, W(k, n) = A[k, n]           (kTransposedW = false), scale 1
//   dS:     big = dY, W(k, n) = B[n, k]           (kTransposedW = true),  scale s_a
// Block: 32 rows of one segment × 64 rank columns; grid.y covers max_rank. Columns past
// the adapter's rank and rows of no adapter are written as zeros.
constexpr int kReduceRows = 32, kReduceCols = 64, kReduceK = 32;

template <typename E, bool kTransposedW, bool kScale>
__global__ void __launch_bounds__(128) row_reduce_kernel(alto_segments seg, const E* big, int32_t d, const E* const* W, float* out) {
  using G = BlockGemm<E, kReduceRows, kReduceCols, kReduceK>;
  __shared__ __align__(128) typename G::Shared sm;
  SegmentTile t;
  if (!find_segment_tile(seg, blockIdx.x, kReduceRows, t)) return;
  const int32_t ld = seg.max_rank;
  const int32_t n0 = blockIdx.y * kReduceCols;
  const int32_t r = t.adapter >= 0 ? seg.ranks[t.adapter] : 0;
  const int32_t n_end = min(ld, n0 + kReduceCols);
  if (n0 >= r) {  // nothing to compute: zero this block's share of out
    for (int i = threadIdx.x; i < t.rows * kReduceCols; i += blockDim.x) {
      const int row = i / kReduceCols, n = n0 + i % kReduceCols;
      if (n < n_end) out[static_cast<int64_t>(t.row0 + row) * ld + n] = 0.0f;
    }
    return;
  }
  const E* w = W[t.adapter];
  const E* x = big + static_cast<int64_t>(t.row0) * d;
  G gemm;
  gemm.zero();
  for (int32_t k0 = 0; k0 < d; k0 += kReduceK) {
    load_tile<E, E, kReduceRows, kReduceK, G::LDA>(sm.op.a, x + k0, d, t.rows, d - k0);
    if constexpr (kTransposedW) {
      load_tile_transposed<E, E, kReduceK, kReduceCols, G::LDB>(sm.op.b, w + static_cast<int64_t>(n0) * d + k0, d, d - k0, r - n0);
    } else {
      load_tile<E, E, kReduceK, kReduceCols, G::LDB>(sm.op.b, w + static_cast<int64_t>(k0) * r + n0, r, d - k0, r - n0);
    }
    __syncthreads();
    gemm.step(sm.op);
    __syncthreads();
  }
  gemm.store(sm.c);
  __syncthreads();
  const float scale = kScale ? seg.scales[t.adapter] : 1.0f;
  for (int i = threadIdx.x; i < t.rows * kReduceCols; i += blockDim.x) {
    const int row = i / kReduceCols, c = i % kReduceCols, n = n0 + c;
    if (n < n_end) out[static_cast<int64_t>(t.row0 + row) * ld + n] = n < r ? scale * sm.c[row * G::LDC + c] : 0.0f;
  }
}

// Expand: out[row, n] = base[row, n] + scale_a · Σ_j small[row, j]·W(j, n), a sum over the rank.
//   expand: small = S,  W(j, n) = B[j, n]   (kTransposedW = false), scale s_a
//   dX:     small = dS, W(j, n) = A[n, j]   (kTransposedW = true),  scale 1
// Block: 64 rows of one segment × 128 output columns. base may be null (zero) or equal out.
constexpr int kExpandRows = 64, kExpandCols = 128, kExpandK = 32;

template <typename E, bool kTransposedW, bool kScale>
__global__ void __launch_bounds__(128) expand_kernel(alto_segments seg, const float* small, const E* const* W, int32_t d,
                                                     const E* base, E* out) {
  using G = BlockGemm<E, kExpandRows, kExpandCols, kExpandK>;
  __shared__ __align__(128) typename G::Shared sm;
  SegmentTile t;
  if (!find_segment_tile(seg, blockIdx.x, kExpandRows, t)) return;
  const int32_t n0 = blockIdx.y * kExpandCols;
  if (n0 >= d) return;
  const int32_t ld = seg.max_rank;
  const int32_t cols = min(kExpandCols, d - n0);
  const bool lora = t.adapter >= 0;
  if (lora) {
    const int32_t r = seg.ranks[t.adapter];
    const E* w = W[t.adapter];
    G gemm;
    gemm.zero();
    for (int32_t k0 = 0; k0 < r; k0 += kExpandK) {
      load_tile<float, E, kExpandRows, kExpandK, G::LDA>(sm.op.a, small + static_cast<int64_t>(t.row0) * ld + k0, ld, t.rows, r - k0);
      if constexpr (kTransposedW) {
        load_tile_transposed<E, E, kExpandK, kExpandCols, G::LDB>(sm.op.b, w + static_cast<int64_t>(n0) * r + k0, r, r - k0, cols);
      } else {
        load_tile<E, E, kExpandK, kExpandCols, G::LDB>(sm.op.b, w + static_cast<int64_t>(k0) * d + n0, d, r - k0, cols);
      }
      __syncthreads();
      gemm.step(sm.op);
      __syncthreads();
    }
    gemm.store(sm.c);
    __syncthreads();
  }
  const float scale = lora && kScale ? seg.scales[t.adapter] : 1.0f;
  for (int i = threadIdx.x; i < t.rows * kExpandCols; i += blockDim.x) {
    const int row = i / kExpandCols, c = i % kExpandCols;
    if (c >= cols) continue;
    const int64_t at = static_cast<int64_t>(t.row0 + row) * d + n0 + c;
    float v = base ? to_float<E>(base[at]) : 0.0f;
    if (lora) v += scale * sm.c[row * G::LDC + c];
    out[at] = from_float<E>(v);
  }
}

// Weight gradients, summed over the rows of a chunk of one segment and added atomically:
//   z = 0: dA[k, j] += Σ_rows X[row, k]·dS[row, j]
//   z = 1: dB[j, n] += s_a·Σ_rows S[row, j]·dY[row, n]
// Both are C(j, c) = Σ_rows small[row, j]·big[row, c]: a 64-rank × 128-column tile per block.
constexpr int kGradRank = 64, kGradCols = 128, kGradK = 32;

template <typename E>
__global__ void __launch_bounds__(128) weight_grad_kernel(alto_segments seg, int32_t chunk_rows, int32_t col_tiles, const E* X,
                                                          int32_t d_in, const E* dY, int32_t d_out, const float* S,
                                                          const float* dS, float* const* dA, float* const* dB) {
  using G = BlockGemm<E, kGradRank, kGradCols, kGradK>;
  __shared__ __align__(128) typename G::Shared sm;
  SegmentTile t;
  if (!find_segment_tile(seg, blockIdx.x, chunk_rows, t) || t.adapter < 0) return;
  const bool is_b = blockIdx.z == 1;
  const int32_t d = is_b ? d_out : d_in;
  const int32_t m0 = (blockIdx.y / col_tiles) * kGradRank, n0 = (blockIdx.y % col_tiles) * kGradCols;
  const int32_t r = seg.ranks[t.adapter];
  if (n0 >= d || m0 >= r) return;
  const int32_t ld = seg.max_rank;
  const float* small = (is_b ? S : dS) + static_cast<int64_t>(t.row0) * ld + m0;
  const E* big = (is_b ? dY : X) + static_cast<int64_t>(t.row0) * d + n0;
  const int32_t cols = min(kGradCols, d - n0), ranks = min(kGradRank, r - m0);
  G gemm;
  gemm.zero();
  for (int32_t k0 = 0; k0 < t.rows; k0 += kGradK) {
    load_tile_transposed<float, E, kGradRank, kGradK, G::LDA>(sm.op.a, small + static_cast<int64_t>(k0) * ld, ld, ranks, t.rows - k0);
    load_tile<E, E, kGradK, kGradCols, G::LDB>(sm.op.b, big + static_cast<int64_t>(k0) * d, d, t.rows - k0, cols);
    __syncthreads();
    gemm.step(sm.op);
    __syncthreads();
  }
  gemm.store(sm.c);
  __syncthreads();
  const float scale = is_b ? seg.scales[t.adapter] : 1.0f;
  float* dst = is_b ? dB[t.adapter] : dA[t.adapter];
  for (int i = threadIdx.x; i < kGradRank * kGradCols; i += blockDim.x) {
    // dA is stored [d_in, r]: walk so that consecutive threads touch consecutive ranks there.
    const int j = is_b ? i / kGradCols : i % kGradRank;
    const int c = is_b ? i % kGradCols : i / kGradRank;
    if (j >= ranks || c >= cols) continue;
    const float v = scale * sm.c[j * G::LDC + c];
    const int64_t at = is_b ? static_cast<int64_t>(m0 + j) * d + n0 + c : static_cast<int64_t>(n0 + c) * r + m0 + j;
    atomicAdd(dst + at, v);
  }
}

}  // namespace alto::cuda
