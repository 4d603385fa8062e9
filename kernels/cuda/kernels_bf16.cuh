// bf16 kernels on the tensor cores through mma.sync, with every operand streamed into shared
// memory by cp.async and read back with ldmatrix. Same three shapes as kernels.cuh (which
// serves fp32); a warp owns a 16-row (or 16-column) strip of the block's output and keeps
// its accumulators in registers from the first K step to the store.
#pragma once
#include <cooperative_groups.h>

#include "mma.cuh"
#include "tile.cuh"

namespace alto::cuda {

// ---- Row-reduce (shrink S = X·A, dS = s·dY·Bᵀ), bf16. ----
// Block: 4 warps, 64 rows × 64 ranks; K streamed in 64-wide steps through 3 stages.
// W is staged as stored: A[k][n] (shrink, read with ldmatrix.trans) or B[n][k] (dS).
namespace rr {
constexpr int kThreads = 128, kRows = 64, kCols = 64, kK = 64, kLd = kK + 8, kStages = 3;
constexpr int kStageElems = 2 * 64 * kLd;
constexpr int kLdc = kCols + 4;
__host__ __device__ constexpr size_t smem_bytes() {
  return kStages * kStageElems * sizeof(bf16) > kRows * kLdc * sizeof(float) ? kStages * kStageElems * sizeof(bf16)
                                                                             : kRows * kLdc * sizeof(float);
}
}  // namespace rr

template <bool kTransposedW>
__global__ void __launch_bounds__(rr::kThreads) row_reduce_bf16(alto_segments seg, const bf16* big, int32_t d, const bf16* const* W, float* out) {
  extern __shared__ __align__(128) unsigned char smem_raw[];
  bf16* stages = reinterpret_cast<bf16*>(smem_raw);
  SegmentTile t;
  if (!find_segment_tile(seg, blockIdx.x, rr::kRows, t)) return;
  const int32_t ld = seg.max_rank;
  const int32_t n0 = blockIdx.y * rr::kCols;
  const int32_t r = t.adapter >= 0 ? seg.ranks[t.adapter] : 0;
  const int32_t n_end = min(ld, n0 + rr::kCols);
  const int nsplit = gridDim.z, split = blockIdx.z;
  if (n0 >= r) {
    for (int i = threadIdx.x; i < t.rows * rr::kCols; i += rr::kThreads) {
      const int row = i / rr::kCols, n = n0 + i % rr::kCols;
      if (n < n_end && row % nsplit == split) out[static_cast<int64_t>(t.row0 + row) * ld + n] = 0.0f;
    }
    return;
  }
  const bf16* w = W[t.adapter];
  const bf16* x = big + static_cast<int64_t>(t.row0) * d;
  const bool x_aligned = rows_aligned(big, d);
  const bool w_aligned = kTransposedW ? rows_aligned(w, d) : rows_aligned(w, r);
  const int nk_all = (d + rr::kK - 1) / rr::kK, per_split = (nk_all + nsplit - 1) / nsplit;
  const int kt0 = split * per_split, nk = max(0, min(per_split, nk_all - kt0));
  const int ranks = min(rr::kCols, r - n0);
  // Full K steps stream through precomputed copies; a ragged last step or unaligned rows
  // take the general copy.
  const bool fast = x_aligned && w_aligned;
  StreamTile<bf16, rr::kRows, rr::kK, rr::kLd, rr::kThreads> x_stream;
  StreamTile<bf16, 64, 64, rr::kLd, rr::kThreads> w_stream;
  x_stream.init(d, t.rows, rr::kK);
  const int ranks_used = (ranks + 15) / 16 * 16;  // the mma loop stops there
  if constexpr (kTransposedW) w_stream.init(d, ranks, rr::kK, ranks_used);
  else w_stream.init(r, rr::kK, ranks, 64, ranks_used);
  auto load = [&](int kt) {
    if (kt < nk) {
      bf16* a = stages + (kt % rr::kStages) * rr::kStageElems;
      bf16* b = a + 64 * rr::kLd;
      const int32_t k0 = (kt0 + kt) * rr::kK;
      if (fast && k0 + rr::kK <= d) {
        x_stream.issue(a, x + k0);
        w_stream.issue(b, kTransposedW ? w + static_cast<int64_t>(n0) * d + k0 : w + static_cast<int64_t>(k0) * r + n0);
        cp_async_commit();
        return;
      }
      copy_tile<bf16, rr::kRows, rr::kK, rr::kLd, rr::kThreads>(a, x + k0, d, t.rows, d - k0, x_aligned);
      if constexpr (kTransposedW) {
        copy_tile<bf16, rr::kCols, rr::kK, rr::kLd, rr::kThreads>(b, w + static_cast<int64_t>(n0) * d + k0, d, ranks, d - k0, w_aligned);
      } else {
        copy_tile<bf16, rr::kK, rr::kCols, rr::kLd, rr::kThreads>(b, w + static_cast<int64_t>(k0) * r + n0, r, d - k0, ranks, w_aligned);
      }
    }
    cp_async_commit();
  };
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, tq = lane & 3;
  float acc[8][4] = {};
  for (int s = 0; s < rr::kStages - 1; ++s) load(s);
  for (int kt = 0; kt < nk; ++kt) {
    cp_async_wait<rr::kStages - 2>();
    __syncthreads();
    load(kt + rr::kStages - 1);
    const bf16* a = stages + (kt % rr::kStages) * rr::kStageElems;
    const bf16* b = a + 64 * rr::kLd;
#pragma unroll
    for (int kk = 0; kk < rr::kK; kk += 16) {
      unsigned af[4];
      mma::ldmatrix_x4(af, a + warp * 16 * rr::kLd + kk + mma::lane_a_mk(rr::kLd));
#pragma unroll
      for (int p = 0; p < 4; ++p) {
        if (16 * p >= ranks) break;
        unsigned bf[4];
        if constexpr (kTransposedW) mma::ldmatrix_x4(bf, b + 16 * p * rr::kLd + kk + mma::lane_b_nk(rr::kLd));
        else mma::ldmatrix_x4_trans(bf, b + kk * rr::kLd + 16 * p + mma::lane_b_kn(rr::kLd));
        mma::mma_bf16(acc[2 * p], af, bf[0], bf[1]);
        mma::mma_bf16(acc[2 * p + 1], af, bf[2], bf[3]);
      }
    }
  }
  cp_async_wait<0>();
  const float scale = kTransposedW ? seg.scales[t.adapter] : 1.0f;
  // Writes one output element: zero past the adapter's rank.
  auto emit = [&](int row, int col, float v) {
    const int n = n0 + col;
    if (row < t.rows && n < n_end) out[static_cast<int64_t>(t.row0 + row) * ld + n] = n < r ? scale * v : 0.0f;
  };
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  if (nsplit > 1) {
    __syncthreads();
    float* c = reinterpret_cast<float*>(smem_raw);
    for (int nt = 0; nt < 8; ++nt) {
      const int col = nt * 8 + 2 * tq, row = warp * 16 + g;
      c[row * rr::kLdc + col] = acc[nt][0];
      c[row * rr::kLdc + col + 1] = acc[nt][1];
      c[(row + 8) * rr::kLdc + col] = acc[nt][2];
      c[(row + 8) * rr::kLdc + col + 1] = acc[nt][3];
    }
    cooperative_groups::cluster_group cluster = cooperative_groups::this_cluster();
    cluster.sync();
    const float* parts[8];
    for (int q = 0; q < nsplit; ++q) parts[q] = cluster.map_shared_rank(c, q);
    for (int i = threadIdx.x; i < t.rows * rr::kCols; i += rr::kThreads) {
      const int row = i / rr::kCols, col = i % rr::kCols;
      if (row % nsplit != split) continue;
      float v = 0.0f;
      for (int q = 0; q < nsplit; ++q) v += parts[q][row * rr::kLdc + col];
      emit(row, col, v);
    }
    cluster.sync();
    return;
  }
#endif
  for (int nt = 0; nt < 8; ++nt) {
    const int col = nt * 8 + 2 * tq, row = warp * 16 + g;
    emit(row, col, acc[nt][0]);
    emit(row, col + 1, acc[nt][1]);
    emit(row + 8, col, acc[nt][2]);
    emit(row + 8, col + 1, acc[nt][3]);
  }
}

// ---- Expand (Y = base + s·S·B, dX = dx_base + dS·Aᵀ), bf16. ----
// Block: 4 warps, 64 rows × `span` columns (a multiple of 64, chosen by the host so that the
// grid fills the GPU) in steps of 64. The block's S rows are converted to bf16 in shared
// memory once; per step the W slice and each warp's base tile stream in by cp.async (three
// stages), the warp adds its products into its base tile in shared memory and writes the
// tile out with 16-byte stores.
namespace ex {
constexpr int kThreads = 128, kRows = 64, kStep = 64, kLdBase = kStep + 8, kStages = 3;
__host__ __device__ constexpr int rank_pad(int r) { return (r + 15) / 16 * 16; }
__host__ __device__ constexpr int w_elems(int max_rank) {
  return rank_pad(max_rank) * kLdBase > kStep * (rank_pad(max_rank) + 8) ? rank_pad(max_rank) * kLdBase : kStep * (rank_pad(max_rank) + 8);
}
// Shared memory for ranks up to max_rank: the S tile, then per stage a W slice and a base tile.
__host__ __device__ constexpr size_t smem_bytes(int max_rank) {
  return (static_cast<size_t>(kRows) * (rank_pad(max_rank) + 8) + kStages * (w_elems(max_rank) + kRows * kLdBase)) * sizeof(bf16);
}
}  // namespace ex

template <bool kTransposedW, int RP>
__global__ void __launch_bounds__(ex::kThreads) expand_bf16(alto_segments seg, int32_t span, const float* small, const bf16* const* W,
                                                            int32_t d, const bf16* base, bf16* out) {
  extern __shared__ __align__(128) unsigned char smem_raw[];
  SegmentTile t;
  if (!find_segment_tile(seg, blockIdx.x, ex::kRows, t)) return;
  const int32_t c_begin = blockIdx.y * span;
  if (c_begin >= d) return;
  const int32_t c_end = min(d, c_begin + span);
  const bool vec = rows_aligned(out, d) && (base == nullptr || rows_aligned(base, d));
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, tq = lane & 3;
  if (t.adapter < 0) {  // rows without LoRA: out = base
    for (int i = threadIdx.x; i < t.rows * (c_end - c_begin); i += ex::kThreads) {
      const int row = i / (c_end - c_begin), c = c_begin + i % (c_end - c_begin);
      const int64_t at = static_cast<int64_t>(t.row0 + row) * d + c;
      out[at] = base ? base[at] : from_float<bf16>(0.0f);
    }
    return;
  }
  const int32_t ld = seg.max_rank;
  const int32_t r = seg.ranks[t.adapter], rp = RP > 0 ? RP : ex::rank_pad(r), lds = rp + 8;
  const int32_t r_used = ex::rank_pad(r);  // the product stops at the adapter's own padded rank
  const int stage_elems = ex::w_elems(ld) + ex::kRows * ex::kLdBase;
  bf16* s_tile = reinterpret_cast<bf16*>(smem_raw);
  bf16* stage0 = s_tile + ex::kRows * (ex::rank_pad(ld) + 8);
  const bf16* w = W[t.adapter];
  const bool w_aligned = kTransposedW ? rows_aligned(w, r) : rows_aligned(w, d);
  const float scale = kTransposedW ? 1.0f : seg.scales[t.adapter];
  convert_rect<bf16>(s_tile, lds, small + static_cast<int64_t>(t.row0) * ld, ld, ex::kRows, rp, t.rows, r, ex::kThreads);

  const int steps = (c_end - c_begin + ex::kStep - 1) / ex::kStep;
  // With a compile-time rank width, full column steps stream through precomputed copies.
  constexpr int kRp = RP > 0 ? RP : 16;
  using WStream = typename std::conditional<kTransposedW, StreamTile<bf16, ex::kStep, kRp, kRp + 8, ex::kThreads>,
                                            StreamTile<bf16, kRp, ex::kStep, ex::kLdBase, ex::kThreads>>::type;
  WStream w_stream;
  StreamTile<bf16, ex::kRows, ex::kStep, ex::kLdBase, ex::kThreads> base_stream;
  const bool fast = RP > 0 && w_aligned && vec;
  if (fast) {
    if constexpr (kTransposedW) w_stream.init(r, ex::kStep, r, ex::kStep, r_used);
    else w_stream.init(d, r, ex::kStep, r_used);
    base_stream.init(d, base ? t.rows : 0, ex::kStep);
  }
  auto load = [&](int st) {
    if (st < steps) {
      const int32_t n0 = c_begin + st * ex::kStep, cols = min(ex::kStep, d - n0);
      bf16* wd = stage0 + (st % ex::kStages) * stage_elems;
      bf16* bd = wd + ex::w_elems(ld);
      if (fast && cols == ex::kStep) {
        w_stream.issue(wd, kTransposedW ? w + static_cast<int64_t>(n0) * r : w + n0);
        base_stream.issue(bd, base ? base + static_cast<int64_t>(t.row0) * d + n0 : out);
        cp_async_commit();
        return;
      }
      if constexpr (kTransposedW) copy_rect<bf16>(wd, lds, w + static_cast<int64_t>(n0) * r, r, ex::kStep, rp, cols, r, w_aligned, ex::kThreads);
      else copy_rect<bf16>(wd, ex::kLdBase, w + n0, d, rp, ex::kStep, r, cols, w_aligned, ex::kThreads);
      if (vec) {
        copy_rect<bf16>(bd, ex::kLdBase, base ? base + static_cast<int64_t>(t.row0) * d + n0 : out, d, ex::kRows, ex::kStep,
                        base ? t.rows : 0, cols, true, ex::kThreads);
      }
    }
    cp_async_commit();
  };
  for (int st = 0; st < ex::kStages - 1; ++st) load(st);
  for (int st = 0; st < steps; ++st) {
    cp_async_wait<ex::kStages - 2>();
    __syncthreads();
    load(st + ex::kStages - 1);
    const int32_t n0 = c_begin + st * ex::kStep, cols = min(ex::kStep, d - n0);
    const bf16* wst = stage0 + (st % ex::kStages) * stage_elems;
    bf16* bst = const_cast<bf16*>(wst) + ex::w_elems(ld);
    float acc[8][4] = {};
#pragma unroll
    for (int k = 0; k < (RP > 0 ? RP : rp); k += 16) {
      if (k >= r_used) break;
      unsigned af[4];
      mma::ldmatrix_x4(af, s_tile + warp * 16 * lds + k + mma::lane_a_mk(lds));
#pragma unroll
      for (int p = 0; p < 4; ++p) {
        if (16 * p >= cols) break;
        unsigned bf[4];
        if constexpr (kTransposedW) mma::ldmatrix_x4(bf, wst + 16 * p * lds + k + mma::lane_b_nk(lds));
        else mma::ldmatrix_x4_trans(bf, wst + k * ex::kLdBase + 16 * p + mma::lane_b_kn(ex::kLdBase));
        mma::mma_bf16(acc[2 * p], af, bf[0], bf[1]);
        mma::mma_bf16(acc[2 * p + 1], af, bf[2], bf[3]);
      }
    }
    const int64_t row_base = static_cast<int64_t>(t.row0 + warp * 16) * d + n0;
    const int warp_rows = min(16, t.rows - warp * 16);
    if (vec) {
      // Add into the warp's base tile in shared memory, then 16-byte stores row by row.
      bf16* tile = bst + warp * 16 * ex::kLdBase;
#pragma unroll
      for (int nt = 0; nt < 8; ++nt) {
        const int col = nt * 8 + 2 * tq;
#pragma unroll
        for (int h = 0; h < 2; ++h) {
          __nv_bfloat162* p = reinterpret_cast<__nv_bfloat162*>(tile + (g + 8 * h) * ex::kLdBase + col);
          const float2 b2 = __bfloat1622float2(*p);
          *p = __floats2bfloat162_rn(b2.x + scale * acc[nt][2 * h], b2.y + scale * acc[nt][2 * h + 1]);
        }
      }
      __syncwarp();
      for (int i = lane; i < 16 * (ex::kStep / 8); i += 32) {
        const int row = i / (ex::kStep / 8), c = (i % (ex::kStep / 8)) * 8;
        if (row >= warp_rows || c >= cols) continue;
        const bf16* src = tile + row * ex::kLdBase + c;
        bf16* dst = out + row_base + static_cast<int64_t>(row) * d + c;
        if (c + 8 <= cols) *reinterpret_cast<uint4*>(dst) = *reinterpret_cast<const uint4*>(src);
        else for (int e = 0; e < cols - c; ++e) dst[e] = src[e];
      }
      __syncwarp();
    } else {
#pragma unroll
      for (int nt = 0; nt < 8; ++nt) {
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          const int row = g + 8 * (e >> 1), col = nt * 8 + 2 * tq + (e & 1);
          if (row >= warp_rows || col >= cols) continue;
          const int64_t at = row_base + static_cast<int64_t>(row) * d + col;
          out[at] = from_float<bf16>((base ? to_float<bf16>(base[at]) : 0.0f) + scale * acc[nt][e]);
        }
      }
    }
  }
  cp_async_wait<0>();
}

// The expand kernel for a launch: a compile-time rank width when the padded largest rank is
// 16, 32, 48 or 64, the general one otherwise.
template <bool kTransposedW>
inline auto expand_bf16_for(int max_rank) -> decltype(&expand_bf16<kTransposedW, 0>) {
  switch (ex::rank_pad(max_rank)) {
    case 16: return &expand_bf16<kTransposedW, 16>;
    case 32: return &expand_bf16<kTransposedW, 32>;
    case 48: return &expand_bf16<kTransposedW, 48>;
    case 64: return &expand_bf16<kTransposedW, 64>;
    default: return &expand_bf16<kTransposedW, 0>;
  }
}

// ---- Weight gradients (dA += Xᵀ·dS, dB += s·Sᵀ·dY), bf16 inputs, fp32 gradients. ----
// Block: 8 warps, 128 columns of d × 64 ranks over a chunk of one segment's rows; warp w
// owns columns [16w, 16w + 16). Rows of both operands stream in 32-row steps through 4
// cp.async stages (S and dS stay fp32 until a conversion pass per step); the products are
// Cᵀ(col, j) = Σ_rows big[row][col]·small[row][j], both operands read with ldmatrix.trans.
namespace wg {
constexpr int kThreads = 256, kCols = 128, kRanks = 64, kK = 32, kLdBig = kCols + 8, kLdSmall = kRanks + 8, kStages = 4;
// Per stage: the big tile (bf16) and the small tile as it is stored (fp32); then one bf16
// copy of the small tile, converted once per step for ldmatrix.
constexpr size_t kStageBytes = kK * kLdBig * sizeof(bf16) + kK * kRanks * sizeof(float);
__host__ __device__ constexpr size_t smem_bytes() { return kStages * kStageBytes + kK * kLdSmall * sizeof(bf16); }
static_assert(kK * kRanks == kThreads * 8, "the conversion pass gives each thread 8 values");
}  // namespace wg

static __global__ void __launch_bounds__(wg::kThreads, 2) weight_grad_bf16(alto_segments seg, int32_t chunk_rows, int32_t col_tiles, const bf16* X,
                                                                  int32_t d_in, const bf16* dY, int32_t d_out, const float* S,
                                                                  const float* dS, float* const* dA, float* const* dB) {
  extern __shared__ __align__(128) unsigned char smem_raw[];
  auto big_stage = [&](int kt) { return reinterpret_cast<bf16*>(smem_raw + (kt % wg::kStages) * wg::kStageBytes); };
  auto small_stage = [&](int kt) { return reinterpret_cast<float*>(smem_raw + (kt % wg::kStages) * wg::kStageBytes + wg::kK * wg::kLdBig * sizeof(bf16)); };
  bf16* small_bf16 = reinterpret_cast<bf16*>(smem_raw + wg::kStages * wg::kStageBytes);
  SegmentTile t;
  if (!find_segment_tile(seg, blockIdx.x, chunk_rows, t) || t.adapter < 0) return;
  const bool is_b = blockIdx.z == 1;
  const int32_t d = is_b ? d_out : d_in;
  const int32_t m0 = (blockIdx.y / col_tiles) * wg::kRanks, n0 = (blockIdx.y % col_tiles) * wg::kCols;
  const int32_t r = seg.ranks[t.adapter];
  if (n0 >= d || m0 >= r) return;
  const int32_t ld = seg.max_rank;
  const float* small_all = is_b ? S : dS;
  const float* small = small_all + static_cast<int64_t>(t.row0) * ld + m0;
  const bf16* big_all = is_b ? dY : X;
  const bf16* big = big_all + static_cast<int64_t>(t.row0) * d + n0;
  const bool big_aligned = rows_aligned(big_all, d), small_aligned = rows_aligned(small_all, ld);
  const int32_t cols = min(wg::kCols, d - n0), ranks = min(wg::kRanks, r - m0);
  const int nk = (t.rows + wg::kK - 1) / wg::kK;
  const bool fast = big_aligned && small_aligned;
  StreamTile<bf16, wg::kK, wg::kCols, wg::kLdBig, wg::kThreads> big_stream;
  StreamTile<float, wg::kK, wg::kRanks, wg::kRanks, wg::kThreads> small_stream;
  big_stream.init(d, wg::kK, cols);
  small_stream.init(ld, wg::kK, ranks, wg::kK, (ranks + 15) / 16 * 16);
  auto load = [&](int kt) {
    if (kt < nk) {
      const int32_t k0 = kt * wg::kK;
      if (fast && k0 + wg::kK <= t.rows) {
        big_stream.issue(big_stage(kt), big + static_cast<int64_t>(k0) * d);
        small_stream.issue(small_stage(kt), small + static_cast<int64_t>(k0) * ld);
        cp_async_commit();
        return;
      }
      copy_tile<bf16, wg::kK, wg::kCols, wg::kLdBig, wg::kThreads>(big_stage(kt), big + static_cast<int64_t>(k0) * d, d, t.rows - k0, cols,
                                                                   big_aligned);
      copy_tile<float, wg::kK, wg::kRanks, wg::kRanks, wg::kThreads>(small_stage(kt), small + static_cast<int64_t>(k0) * ld, ld, t.rows - k0,
                                                                      ranks, small_aligned);
    }
    cp_async_commit();
  };
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, tq = lane & 3;
  const bool active = warp * 16 < cols;
  float acc[8][4] = {};
  for (int s = 0; s < wg::kStages - 1; ++s) load(s);
  for (int kt = 0; kt < nk; ++kt) {
    cp_async_wait<wg::kStages - 2>();
    __syncthreads();
    load(kt + wg::kStages - 1);
    {  // small tile: fp32 → bf16, 8 values per thread
      const int i = threadIdx.x, row = i / (wg::kRanks / 8), c = (i % (wg::kRanks / 8)) * 8;
      const float4* src = reinterpret_cast<const float4*>(small_stage(kt) + row * wg::kRanks + c);
      const float4 v0 = src[0], v1 = src[1];
      __nv_bfloat162 packed[4] = {__floats2bfloat162_rn(v0.x, v0.y), __floats2bfloat162_rn(v0.z, v0.w), __floats2bfloat162_rn(v1.x, v1.y),
                                  __floats2bfloat162_rn(v1.z, v1.w)};
      *reinterpret_cast<uint4*>(small_bf16 + row * wg::kLdSmall + c) = *reinterpret_cast<const uint4*>(packed);
    }
    __syncthreads();
    if (!active) continue;
    const bf16* b = big_stage(kt);
    const bf16* sm = small_bf16;
#pragma unroll
    for (int ks = 0; ks < wg::kK; ks += 16) {
      unsigned af[4];
      mma::ldmatrix_x4_trans(af, b + ks * wg::kLdBig + warp * 16 + mma::lane_a_km(wg::kLdBig));
#pragma unroll
      for (int p = 0; p < 4; ++p) {
        if (16 * p >= ranks) break;
        unsigned bf[4];
        mma::ldmatrix_x4_trans(bf, sm + ks * wg::kLdSmall + 16 * p + mma::lane_b_kn(wg::kLdSmall));
        mma::mma_bf16(acc[2 * p], af, bf[0], bf[1]);
        mma::mma_bf16(acc[2 * p + 1], af, bf[2], bf[3]);
      }
    }
  }
  cp_async_wait<0>();
  if (!active) return;
  const float scale = is_b ? seg.scales[t.adapter] : 1.0f;
  float* dst = is_b ? dB[t.adapter] : dA[t.adapter];
#pragma unroll
  for (int nt = 0; nt < 8; ++nt) {
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      const int col = warp * 16 + g + 8 * (e >> 1), j = nt * 8 + 2 * tq + (e & 1);
      if (col >= cols || j >= ranks) continue;
      const int64_t at = is_b ? static_cast<int64_t>(m0 + j) * d + n0 + col : static_cast<int64_t>(n0 + col) * r + m0 + j;
      atomicAdd(dst + at, scale * acc[nt][e]);
    }
  }
}

}  // namespace alto::cuda
