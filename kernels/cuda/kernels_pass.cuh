// Streaming passes of the bf16 path for ranks up to 64: each block keeps one adapter's weight
// slice in shared memory for its whole life and streams 64-row tiles of one chunk of a
// segment past it, so every large matrix crosses HBM once per pass.
//
//   row pass (a cluster of C blocks splits d into 256-column slices):
//     shrink   S  = X·A                      reads X
//     dy pass  dS = s·dY·Bᵀ,  dB += s·Sᵀ·dY  reads dY once for both
//   column pass (a block owns 128 columns of a chunk; no cluster):
//     dx pass  dX = dx_base + dS·Aᵀ, dA += Xᵀ·dS   reads dx_base and X, writes dX
// With the expand kernel (kernels_bf16.cuh) a forward + backward moves 7·T·d elements:
// X, base, Y; dY; dx_base, X, dX.
//
// Row sums across the cluster: the C blocks' partial sums of a row meet in the shared memory
// of the row's owner, block (row mod C), by remote atomic adds while the tiles stream; one
// cluster barrier at the end of the chunk, then each owner writes its rows.
// Example, d = 2048 and a chunk of 512 rows of a rank-32 segment: a cluster of 8 blocks
// (columns 0–255, …, 1792–2047) walks the chunk's 8 tiles; row 77 of the chunk is owned by
// block 77 mod 8 = 5 and sits at index 77 / 8 = 9 of its buffer (64 owned rows × 32 sums).
// The dx pass then runs 16 blocks of 128 columns over the same 8 tiles.
#pragma once
#include <cooperative_groups.h>

#include "mma.cuh"
#include "tile.cuh"

namespace alto::cuda::pass {

constexpr int kThreads = 256, kRows = 64;
constexpr int kMaxRank = 64, kLdSmall = kMaxRank + 8;  // bf16 small tiles [row][rank]
constexpr int kSlice = 256, kLdSlice = kSlice + 8;      // row pass: columns per block
constexpr int kCols = 128, kLdCols = kCols + 8;         // column pass: columns per block
constexpr int kRowStages = 3, kColStages = 2;
constexpr int kMaxCluster = 16;
constexpr int kOwnedRows = 128, kLdOwned = kMaxRank + 4;  // a row-pass owner's fp32 sums

__host__ __device__ constexpr int rank_pad(int r) { return (r + 15) / 16 * 16; }

// Row pass shared memory: the weight slice, the streamed tiles, two bf16 S tiles (dy pass)
// and the owned rows' sums.
__host__ __device__ constexpr size_t row_pass_smem(bool dy) {
  return (dy ? kMaxRank * kLdSlice : kSlice * kLdSmall) * 2 + kRowStages * kRows * kLdSlice * 2 + (dy ? 2 * kRows * kLdSmall * 2 : 0) +
         kOwnedRows * kLdOwned * 4;
}
// Column pass: the weight slice, then per stage the dx_base tile, the dS tile and the X tile.
constexpr int kColStageElems = kRows * kLdCols + kRows * kLdSmall + kRows * kLdCols;
__host__ __device__ constexpr size_t col_pass_smem() { return (kCols * kLdSmall + kColStages * kColStageElems) * 2; }

// A 64 × RP fp32 tile of S (row stride ld) held in registers between its load and its
// conversion to bf16, so the load overlaps a tile of work. Columns at or past `cols` read 0.
template <int RP>
struct SmallPrefetch {
  static constexpr int kPerThread = kRows * RP / 4 / kThreads;  // float4s per thread (1..4)
  static_assert(kPerThread >= 1, "every thread converts at least one group");
  float4 v[kPerThread];
  __device__ __forceinline__ void load(const float* src, int64_t ld, int rows_valid, int cols) {
    const bool vec = rows_aligned(src, ld);
#pragma unroll
    for (int j = 0; j < kPerThread; ++j) {
      const int i = threadIdx.x + j * kThreads, r = i / (RP / 4), c = (i % (RP / 4)) * 4;
      float e[4] = {0.0f, 0.0f, 0.0f, 0.0f};
      if (r < rows_valid) {
        const float* p = src + r * ld + c;
        if (vec && c + 4 <= cols) {
          const float4 q = *reinterpret_cast<const float4*>(p);
          e[0] = q.x, e[1] = q.y, e[2] = q.z, e[3] = q.w;
        } else {
#pragma unroll
          for (int k = 0; k < 4; ++k) e[k] = c + k < cols ? p[k] : 0.0f;
        }
      }
      v[j] = make_float4(e[0], e[1], e[2], e[3]);
    }
  }
  __device__ __forceinline__ void store(bf16* dst) const {
#pragma unroll
    for (int j = 0; j < kPerThread; ++j) {
      const int i = threadIdx.x + j * kThreads, r = i / (RP / 4), c = (i % (RP / 4)) * 4;
      __nv_bfloat162 lo = __floats2bfloat162_rn(v[j].x, v[j].y), hi = __floats2bfloat162_rn(v[j].z, v[j].w);
      uint2 packed;
      packed.x = *reinterpret_cast<unsigned*>(&lo);
      packed.y = *reinterpret_cast<unsigned*>(&hi);
      *reinterpret_cast<uint2*>(dst + r * kLdSmall + c) = packed;
    }
  }
};

// ---- Row pass: kDy = false → shrink (out_f32 = S), true → dy pass (out_bf16 = s·dY·Bᵀ,
// dB += s·Sᵀ·dY). grid (C, chunks), clusters of (C, 1, 1), chunk_rows ≤ kOwnedRows·C;
// RP = padded largest rank. ----
template <bool kDy, int RP>
__global__ void __launch_bounds__(kThreads, 1) row_pass(alto_segments seg, int32_t chunk_rows, const bf16* Z, int32_t d,
                                                        const bf16* const* W, float* out_f32, bf16* out_bf16, int32_t ld_out,
                                                        const float* S, float* const* dB) {
  extern __shared__ __align__(128) unsigned char smem_raw[];
  bf16* w_tile = reinterpret_cast<bf16*>(smem_raw);
  bf16* stage0 = w_tile + (kDy ? kMaxRank * kLdSlice : kSlice * kLdSmall);
  bf16* s_tiles = stage0 + kRowStages * kRows * kLdSlice;
  float* owned = reinterpret_cast<float*>(s_tiles + (kDy ? 2 * kRows * kLdSmall : 0));  // [kOwnedRows][kLdOwned]
  SegmentTile t;
  if (!find_segment_tile(seg, blockIdx.y, chunk_rows, t)) return;  // same answer across the cluster
  const int C = gridDim.x, j = blockIdx.x;
  const int32_t c0 = j * kSlice, width = min(kSlice, d - c0);
  if (t.adapter < 0) {  // no LoRA: S rows are zero, dS rows are never read
    if (!kDy) {
      for (int i = threadIdx.x; i < t.rows * ld_out; i += kThreads)
        if ((i / ld_out) % C == j) out_f32[static_cast<int64_t>(t.row0) * ld_out + i] = 0.0f;
    }
    return;
  }
  const int32_t r = seg.ranks[t.adapter], rk = rank_pad(r);
  const float scale = kDy ? seg.scales[t.adapter] : 1.0f;
  const bf16* w = W[t.adapter];
  // The weight slice, once: B[rank][c0..] as stored (dy pass) or A[c0..][rank] (shrink).
  if constexpr (kDy) copy_rect<bf16>(w_tile, kLdSlice, w + c0, d, RP, kSlice, r, width, rows_aligned(w, d), kThreads);
  else copy_rect<bf16>(w_tile, kLdSmall, w + static_cast<int64_t>(c0) * r, r, kSlice, RP, width, r, rows_aligned(w, r), kThreads);
  cp_async_commit();
  const int mine = (t.rows - j + C - 1) / C;  // rows this block owns
  for (int i = threadIdx.x; i < mine * kLdOwned; i += kThreads) owned[i] = 0.0f;
  cooperative_groups::cluster_group cluster = cooperative_groups::this_cluster();
  cluster.sync();  // every owner's sums are zero before any block adds into them

  const bf16* z = Z + static_cast<int64_t>(t.row0) * d + c0;
  const int tiles = (t.rows + kRows - 1) / kRows;
  StreamTile<bf16, kRows, kSlice, kLdSlice, kThreads> z_stream;
  z_stream.init(d, kRows, width);
  auto load = [&](int tile) {
    if (tile < tiles) {
      bf16* dst = stage0 + (tile % kRowStages) * kRows * kLdSlice;
      const int rows = min(kRows, t.rows - tile * kRows);
      if (rows == kRows) z_stream.issue(dst, z + static_cast<int64_t>(tile) * kRows * d);
      else copy_tile<bf16, kRows, kSlice, kLdSlice, kThreads>(dst, z + static_cast<int64_t>(tile) * kRows * d, d, rows, width, true);
    }
    cp_async_commit();
  };
  SmallPrefetch<RP> s_next;
  auto load_s = [&](int tile) {
    if (kDy && tile < tiles) {
      s_next.load(S + static_cast<int64_t>(t.row0 + tile * kRows) * seg.max_rank, seg.max_rank, min(kRows, t.rows - tile * kRows), r);
    }
  };
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, tq = lane & 3;
  const int rg = warp & 3, half = warp >> 2;  // partial sums: 16 rows, rank blocks of one parity
  const int kw = (width + 15) / 16 * 16, col_warp = warp * 32;
  float acc_b[RP / 16][4][4] = {};  // dy pass: dB[16mt + ·][col_warp + 8nt + ·]

  for (int s = 0; s < kRowStages - 1; ++s) load(s);
  load_s(0);
  for (int tile = 0; tile < tiles; ++tile) {
    cp_async_wait<kRowStages - 2>();
    __syncthreads();
    load(tile + kRowStages - 1);
    const bf16* zt = stage0 + (tile % kRowStages) * kRows * kLdSlice;
    bf16* st = s_tiles + (tile & 1) * kRows * kLdSmall;
    if constexpr (kDy) {
      s_next.store(st);
      load_s(tile + 1);
      __syncthreads();
    }
    // Partial sums over this slice: rows 16·rg, rank blocks p ≡ half (mod 2).
    float acc_s[2][2][4] = {};
#pragma unroll
    for (int kk = 0; kk < kSlice; kk += 16) {
      if (kk >= kw) break;
      unsigned af[4];
      mma::ldmatrix_x4(af, zt + rg * 16 * kLdSlice + kk + mma::lane_a_mk(kLdSlice));
#pragma unroll
      for (int pi = 0; pi < 2; ++pi) {
        const int p = 2 * pi + half;
        if (16 * p >= rk || 16 * p >= RP) break;
        unsigned bf[4];
        if constexpr (kDy) mma::ldmatrix_x4(bf, w_tile + 16 * p * kLdSlice + kk + mma::lane_b_nk(kLdSlice));
        else mma::ldmatrix_x4_trans(bf, w_tile + kk * kLdSmall + 16 * p + mma::lane_b_kn(kLdSmall));
        mma::mma_bf16(acc_s[pi][0], af, bf[0], bf[1]);
        mma::mma_bf16(acc_s[pi][1], af, bf[2], bf[3]);
      }
    }
    if constexpr (kDy) {  // dB partial: ranks × this warp's 32 columns, over the tile's rows
      if (col_warp < width) {
#pragma unroll
        for (int kk = 0; kk < kRows; kk += 16) {
          unsigned bfr[2][4];
          mma::ldmatrix_x4_trans(bfr[0], zt + kk * kLdSlice + col_warp + mma::lane_b_kn(kLdSlice));
          mma::ldmatrix_x4_trans(bfr[1], zt + kk * kLdSlice + col_warp + 16 + mma::lane_b_kn(kLdSlice));
#pragma unroll
          for (int mt = 0; mt < RP / 16; ++mt) {
            if (16 * mt >= rk) break;
            unsigned af[4];
            mma::ldmatrix_x4_trans(af, st + kk * kLdSmall + 16 * mt + mma::lane_a_km(kLdSmall));
#pragma unroll
            for (int q = 0; q < 2; ++q) {
              mma::mma_bf16(acc_b[mt][2 * q], af, bfr[q][0], bfr[q][1]);
              mma::mma_bf16(acc_b[mt][2 * q + 1], af, bfr[q][2], bfr[q][3]);
            }
          }
        }
      }
    }
    // Into the owners' sums (fire-and-forget remote adds). Rows past the chunk hold zeros.
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int row = tile * kRows + rg * 16 + g + 8 * h;
      if (row >= t.rows) continue;
      float* to = cluster.map_shared_rank(owned, row % C) + (row / C) * kLdOwned;
#pragma unroll
      for (int pi = 0; pi < 2; ++pi) {
        const int p = 2 * pi + half;
        if (16 * p >= rk || 16 * p >= RP) break;
#pragma unroll
        for (int nt = 0; nt < 2; ++nt) {
          const int col = 16 * p + 8 * nt + 2 * tq;
          atomicAdd(to + col, acc_s[pi][nt][2 * h]);
          atomicAdd(to + col + 1, acc_s[pi][nt][2 * h + 1]);
        }
      }
    }
  }
  cp_async_wait<0>();
  cluster.sync();  // every add has landed; nobody touches another block's memory after this
  for (int i = threadIdx.x; i < mine * (RP / 4); i += kThreads) {
    const int idx = i / (RP / 4), col = (i % (RP / 4)) * 4;
    const float4 v = *reinterpret_cast<const float4*>(owned + idx * kLdOwned + col);
    const int64_t at = static_cast<int64_t>(t.row0 + j + C * idx) * ld_out + col;
    if constexpr (kDy) {  // ld_out = RP: whole, aligned groups
      __nv_bfloat162 lo = __floats2bfloat162_rn(scale * v.x, scale * v.y), hi = __floats2bfloat162_rn(scale * v.z, scale * v.w);
      uint2 packed;
      packed.x = *reinterpret_cast<unsigned*>(&lo);
      packed.y = *reinterpret_cast<unsigned*>(&hi);
      *reinterpret_cast<uint2*>(out_bf16 + at) = packed;
    } else {
      const float e[4] = {v.x, v.y, v.z, v.w};
#pragma unroll
      for (int k = 0; k < 4; ++k)
        if (col + k < ld_out) out_f32[at + k] = e[k];  // ranks ≥ r hold zeros (zero weights)
    }
  }
  if constexpr (kDy) {
    if (col_warp >= width) return;
    float* dst = dB[t.adapter];
#pragma unroll
    for (int mt = 0; mt < RP / 16; ++mt)
#pragma unroll
      for (int nt = 0; nt < 4; ++nt)
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          const int rank = 16 * mt + g + 8 * (e >> 1), col = col_warp + 8 * nt + 2 * tq + (e & 1);
          if (rank < r && col < width) atomicAdd(dst + static_cast<int64_t>(rank) * d + c0 + col, scale * acc_b[mt][nt][e]);
        }
  }
}

// ---- Column pass (dx): out = base + dS·Aᵀ with dS bf16 (row stride ld_small),
// dA += Xᵀ·dS. grid (column blocks, chunks); two blocks per multiprocessor. ----
template <int RP>
__global__ void __launch_bounds__(kThreads, 2) dx_pass(alto_segments seg, int32_t chunk_rows, const bf16* dS, int32_t ld_small,
                                                       const bf16* const* W, int32_t d, const bf16* base, bf16* out, const bf16* X,
                                                       float* const* dA) {
  extern __shared__ __align__(128) unsigned char smem_raw[];
  bf16* w_tile = reinterpret_cast<bf16*>(smem_raw);
  bf16* stage0 = w_tile + kCols * kLdSmall;
  SegmentTile t;
  if (!find_segment_tile(seg, blockIdx.y, chunk_rows, t)) return;
  const int32_t c0 = blockIdx.x * kCols, width = min(kCols, d - c0);
  if (t.adapter < 0) {  // no LoRA: out = base
    for (int i = threadIdx.x; i < t.rows * width; i += kThreads) {
      const int64_t at = static_cast<int64_t>(t.row0 + i / width) * d + c0 + i % width;
      out[at] = base ? base[at] : from_float<bf16>(0.0f);
    }
    return;
  }
  const int32_t r = seg.ranks[t.adapter], rk = rank_pad(r);
  const bf16* w = W[t.adapter];
  // The weight slice, once: A[c0..][rank] as stored.
  copy_rect<bf16>(w_tile, kLdSmall, w + static_cast<int64_t>(c0) * r, r, kCols, RP, width, r, rows_aligned(w, r), kThreads);
  cp_async_commit();

  const int tiles = (t.rows + kRows - 1) / kRows;
  const int64_t first = static_cast<int64_t>(t.row0) * d + c0;
  StreamTile<bf16, kRows, kCols, kLdCols, kThreads> big_stream;
  StreamTile<bf16, kRows, RP, kLdSmall, kThreads> small_stream;
  big_stream.init(d, kRows, width);
  small_stream.init(ld_small, kRows, RP);
  auto load = [&](int tile) {
    if (tile < tiles) {
      bf16* dst = stage0 + (tile % kColStages) * kColStageElems;
      const int rows = min(kRows, t.rows - tile * kRows);
      const int64_t at = first + static_cast<int64_t>(tile) * kRows * d;
      const bf16* small = dS + static_cast<int64_t>(t.row0 + tile * kRows) * ld_small;
      if (rows == kRows) {
        if (base) big_stream.issue(dst, base + at);
        small_stream.issue(dst + kRows * kLdCols, small);
        big_stream.issue(dst + kRows * kLdCols + kRows * kLdSmall, X + at);
      } else {
        if (base) copy_tile<bf16, kRows, kCols, kLdCols, kThreads>(dst, base + at, d, rows, width, true);
        copy_tile<bf16, kRows, RP, kLdSmall, kThreads>(dst + kRows * kLdCols, small, ld_small, rows, RP, true);
        copy_tile<bf16, kRows, kCols, kLdCols, kThreads>(dst + kRows * kLdCols + kRows * kLdSmall, X + at, d, rows, width, true);
      }
    }
    cp_async_commit();
  };
  if (!base) {  // no base: every stage's base tile is zero once and for all
    for (int i = threadIdx.x; i < kColStages * kRows * kLdCols; i += kThreads)
      stage0[(i / (kRows * kLdCols)) * kColStageElems + i % (kRows * kLdCols)] = from_float<bf16>(0.0f);
  }
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, tq = lane & 3;
  const int rg = warp & 3, half = warp >> 2;  // output: rows 16·rg, columns 64·half
  float acc_a[RP / 8][4] = {};                // dA[c0 + 16·warp + ·][8nt + ·]

  for (int s = 0; s < kColStages - 1; ++s) load(s);
  for (int tile = 0; tile < tiles; ++tile) {
    cp_async_wait<kColStages - 2>();
    __syncthreads();
    load(tile + kColStages - 1);
    bf16* bt = stage0 + (tile % kColStages) * kColStageElems;
    const bf16* st = bt + kRows * kLdCols;
    const bf16* xt = st + kRows * kLdSmall;
    float acc[8][4] = {};
#pragma unroll
    for (int kk = 0; kk < RP; kk += 16) {
      if (kk >= rk) break;
      unsigned af[4];
      mma::ldmatrix_x4(af, st + rg * 16 * kLdSmall + kk + mma::lane_a_mk(kLdSmall));
#pragma unroll
      for (int q = 0; q < 4; ++q) {
        unsigned bf[4];
        mma::ldmatrix_x4(bf, w_tile + (64 * half + 16 * q) * kLdSmall + kk + mma::lane_b_nk(kLdSmall));
        mma::mma_bf16(acc[2 * q], af, bf[0], bf[1]);
        mma::mma_bf16(acc[2 * q + 1], af, bf[2], bf[3]);
      }
    }
    if (16 * warp < width) {  // dA partial: this warp's 16 columns × ranks, over the tile's rows
#pragma unroll
      for (int kk = 0; kk < kRows; kk += 16) {
        unsigned af[4];
        mma::ldmatrix_x4_trans(af, xt + kk * kLdCols + 16 * warp + mma::lane_a_km(kLdCols));
#pragma unroll
        for (int p = 0; p < RP / 16; ++p) {
          if (16 * p >= rk) break;
          unsigned bf[4];
          mma::ldmatrix_x4_trans(bf, st + kk * kLdSmall + 16 * p + mma::lane_b_kn(kLdSmall));
          mma::mma_bf16(acc_a[2 * p], af, bf[0], bf[1]);
          mma::mma_bf16(acc_a[2 * p + 1], af, bf[2], bf[3]);
        }
      }
    }
    // Add into the base tile in place, then 16-byte stores of the warp's 16 × 64 block.
    bf16* tile_out = bt + rg * 16 * kLdCols + 64 * half;
#pragma unroll
    for (int nt = 0; nt < 8; ++nt) {
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        __nv_bfloat162* p = reinterpret_cast<__nv_bfloat162*>(tile_out + (g + 8 * h) * kLdCols + 8 * nt + 2 * tq);
        const float2 b2 = __bfloat1622float2(*p);
        *p = __floats2bfloat162_rn(b2.x + acc[nt][2 * h], b2.y + acc[nt][2 * h + 1]);
      }
    }
    __syncwarp();
    const int rows = min(kRows, t.rows - tile * kRows) - rg * 16;
    bf16* dst = out + first + static_cast<int64_t>(tile * kRows + rg * 16) * d + 64 * half;
#pragma unroll
    for (int u = 0; u < 4; ++u) {
      const int i = lane + 32 * u, row = i >> 3, c = (i & 7) * 8;
      if (row < rows && 64 * half + c < width)
        *reinterpret_cast<uint4*>(dst + static_cast<int64_t>(row) * d + c) = *reinterpret_cast<const uint4*>(tile_out + row * kLdCols + c);
    }
    if (!base) {  // restore the zeros this tile's sums overwrote
      __syncwarp();
#pragma unroll
      for (int u = 0; u < 4; ++u) {
        const int i = lane + 32 * u, row = i >> 3, c = (i & 7) * 8;
        *reinterpret_cast<uint4*>(tile_out + row * kLdCols + c) = make_uint4(0, 0, 0, 0);
      }
    }
  }
  cp_async_wait<0>();
  if (16 * warp >= width) return;
  float* dst = dA[t.adapter];
#pragma unroll
  for (int nt = 0; nt < RP / 8; ++nt)
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      const int col = 16 * warp + g + 8 * (e >> 1), rank = 8 * nt + 2 * tq + (e & 1);
      if (col < width && rank < r) atomicAdd(dst + static_cast<int64_t>(c0 + col) * r + rank, acc_a[nt][e]);
    }
}

}  // namespace alto::cuda::pass
