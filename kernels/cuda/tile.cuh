// Block-level building blocks shared by the CUDA kernels:
//   - segment tiles: which rows of which segment a block owns (a warp-wide scan of the
//     segment lengths, so no host-built tile list and no compile-time sizes),
//   - tile loaders with tail handling (zeros outside the matrix; 16-byte loads when aligned),
//   - a block GEMM over shared-memory tiles: tensor cores (WMMA, bf16 in, fp32 accumulate) for
//     bf16 storage, plain fp32 FMAs for fp32 (exact fp32, no TF32).
#pragma once
#include <cuda_bf16.h>
#include <mma.h>
#include <stdint.h>
#include <type_traits>

#include "alto/kernels.h"

namespace alto::cuda {

using bf16 = __nv_bfloat16;

template <typename E> __device__ __forceinline__ float to_float(E v);
template <> __device__ __forceinline__ float to_float<float>(float v) { return v; }
template <> __device__ __forceinline__ float to_float<bf16>(bf16 v) { return __bfloat162float(v); }
template <typename E> __device__ __forceinline__ E from_float(float v);
template <> __device__ __forceinline__ float from_float<float>(float v) { return v; }
template <> __device__ __forceinline__ bf16 from_float<bf16>(float v) { return __float2bfloat16_rn(v); }

// The rows a block works on: `rows` consecutive rows from `row0`, all in segment `seg`.
struct SegmentTile {
  int32_t seg;
  int32_t row0;
  int32_t rows;
  int32_t adapter;  // -1: no LoRA on these rows
};

// Segments are cut into tiles of `tile_rows` rows (the last one of a segment may be
// shorter; an empty segment has none). Returns false when `tile` is past the last one:
// grids are sized by an upper bound (ceil(T / tile_rows) + segments) computed on the host.
// Every warp computes the same answer on its own, so no barrier is needed.
__device__ inline bool find_segment_tile(const alto_segments& s, int32_t tile, int32_t tile_rows, SegmentTile& out) {
  const int lane = threadIdx.x & 31;
  int32_t before = 0;
  for (int32_t g0 = 0; g0 < s.num_segments; g0 += 32) {
    const int32_t g = g0 + lane;
    int32_t count = 0, len = 0, start = 0;
    if (g < s.num_segments) {
      start = s.seg_offsets[g];
      len = s.seg_offsets[g + 1] - start;
      count = (len + tile_rows - 1) / tile_rows;
    }
    int32_t inclusive = count;
#pragma unroll
    for (int off = 1; off < 32; off <<= 1) {
      const int32_t v = __shfl_up_sync(0xffffffffu, inclusive, off);
      if (lane >= off) inclusive += v;
    }
    const int32_t total = __shfl_sync(0xffffffffu, inclusive, 31);
    if (tile < before + total) {
      const unsigned hit = __ballot_sync(0xffffffffu, before + inclusive > tile);
      const int src = __ffs(hit) - 1;
      const int32_t seg = g0 + src;
      const int32_t first = before + __shfl_sync(0xffffffffu, inclusive - count, src);
      const int32_t seg_start = __shfl_sync(0xffffffffu, start, src);
      const int32_t seg_len = __shfl_sync(0xffffffffu, len, src);
      out.seg = seg;
      out.row0 = seg_start + (tile - first) * tile_rows;
      out.rows = min(tile_rows, seg_start + seg_len - out.row0);
      out.adapter = s.seg_adapter[seg];
      return true;
    }
    before += total;
  }
  return false;
}

// dst[r][c] = src[r·ld + c] for r < R, c < C (row-major tile), zero outside rows_valid ×
// cols_valid. 16-byte loads where the source allows them.
template <typename Src, typename E, int R, int C, int LDS>
__device__ __forceinline__ void load_tile(E* dst, const Src* src, int64_t ld, int rows_valid, int cols_valid) {
  constexpr int kVec = 16 / sizeof(Src);
  constexpr int kChunks = R * C / kVec;
  static_assert(C % kVec == 0, "tile width must hold whole vectors");
  for (int i = threadIdx.x; i < kChunks; i += blockDim.x) {
    const int r = i / (C / kVec), c = (i % (C / kVec)) * kVec;
    E* d = dst + r * LDS + c;
    const Src* p = src + r * ld + c;
    if (r < rows_valid && c + kVec <= cols_valid && (reinterpret_cast<uintptr_t>(p) & 15) == 0) {
      const uint4 v = *reinterpret_cast<const uint4*>(p);
      const Src* e = reinterpret_cast<const Src*>(&v);
#pragma unroll
      for (int k = 0; k < kVec; ++k) d[k] = from_float<E>(to_float<Src>(e[k]));
    } else {
#pragma unroll
      for (int k = 0; k < kVec; ++k) {
        d[k] = (r < rows_valid && c + k < cols_valid) ? from_float<E>(to_float<Src>(p[k])) : from_float<E>(0.0f);
      }
    }
  }
}

// dst[r][c] = src[c·ld + r] for r < R, c < C: a transposed tile of a small operand.
// Consecutive threads read consecutive source elements.
template <typename Src, typename E, int R, int C, int LDS>
__device__ __forceinline__ void load_tile_transposed(E* dst, const Src* src, int64_t ld, int rows_valid, int cols_valid) {
  for (int i = threadIdx.x; i < R * C; i += blockDim.x) {
    const int r = i % R, c = i / R;
    dst[r * LDS + c] = (r < rows_valid && c < cols_valid) ? from_float<E>(to_float<Src>(src[c * ld + r])) : from_float<E>(0.0f);
  }
}

// C[BM][BN] (fp32, shared) = Σ over K tiles of As[BM][BK] · Bs[BK][BN], 4 warps.
// bf16: WMMA 16×16×16 fragments, a 2×2 grid of warps. fp32: each thread a TM×TN micro-tile.
template <typename E, int BM, int BN, int BK>
struct BlockGemm {
  static constexpr int kThreads = 128;
  static constexpr int LDA = BK + (std::is_same<E, bf16>::value ? 8 : 4);
  static constexpr int LDB = BN + (std::is_same<E, bf16>::value ? 8 : 4);
  static constexpr int LDC = BN + 4;
  static constexpr int WM = BM / 2, WN = BN / 2;  // one warp's share
  static constexpr int FM = WM / 16, FN = WN / 16;
  static constexpr int TN = 4, TM = BM * BN / kThreads / TN;
  static constexpr int TX = BN / TN, TY = BM / TM;
  static_assert(TX * TY == kThreads, "fp32 micro-tiles must cover the block tile");

  struct Operands {
    E a[BM * LDA];
    E b[BK * LDB];
  };
  union Shared {
    Operands op;
    float c[BM * LDC];
  };

  using FragA = nvcuda::wmma::fragment<nvcuda::wmma::matrix_a, 16, 16, 16, bf16, nvcuda::wmma::row_major>;
  using FragB = nvcuda::wmma::fragment<nvcuda::wmma::matrix_b, 16, 16, 16, bf16, nvcuda::wmma::row_major>;
  using FragC = nvcuda::wmma::fragment<nvcuda::wmma::accumulator, 16, 16, 16, float>;

  typename std::conditional<std::is_same<E, bf16>::value, FragC[FM][FN], float[TM][TN]>::type acc;

  __device__ void zero() {
    if constexpr (std::is_same<E, bf16>::value) {
      for (int i = 0; i < FM; ++i)
        for (int j = 0; j < FN; ++j) nvcuda::wmma::fill_fragment(acc[i][j], 0.0f);
    } else {
#pragma unroll
      for (int i = 0; i < TM; ++i)
#pragma unroll
        for (int j = 0; j < TN; ++j) acc[i][j] = 0.0f;
    }
  }

  // acc += As · Bs for the tile in shared memory.
  __device__ void step(const Operands& s) {
    if constexpr (std::is_same<E, bf16>::value) {
      const int warp = threadIdx.x >> 5;
      const int wm = (warp >> 1) * WM, wn = (warp & 1) * WN;
#pragma unroll
      for (int k = 0; k < BK; k += 16) {
        FragA fa[FM];
        FragB fb[FN];
#pragma unroll
        for (int i = 0; i < FM; ++i) nvcuda::wmma::load_matrix_sync(fa[i], s.a + (wm + i * 16) * LDA + k, LDA);
#pragma unroll
        for (int j = 0; j < FN; ++j) nvcuda::wmma::load_matrix_sync(fb[j], s.b + k * LDB + wn + j * 16, LDB);
#pragma unroll
        for (int i = 0; i < FM; ++i)
#pragma unroll
          for (int j = 0; j < FN; ++j) nvcuda::wmma::mma_sync(acc[i][j], fa[i], fb[j], acc[i][j]);
      }
    } else {
      const int tx = threadIdx.x % TX, ty = threadIdx.x / TX;
#pragma unroll 4
      for (int k = 0; k < BK; ++k) {
        float av[TM], bv[TN];
#pragma unroll
        for (int i = 0; i < TM; ++i) av[i] = to_float<E>(s.a[(ty + i * TY) * LDA + k]);
#pragma unroll
        for (int j = 0; j < TN; ++j) bv[j] = to_float<E>(s.b[k * LDB + tx + j * TX]);
#pragma unroll
        for (int i = 0; i < TM; ++i)
#pragma unroll
          for (int j = 0; j < TN; ++j) acc[i][j] = fmaf(av[i], bv[j], acc[i][j]);
      }
    }
  }

  // Writes the accumulators to shared C[BM][LDC]; the caller syncs before and after.
  __device__ void store(float* c) {
    if constexpr (std::is_same<E, bf16>::value) {
      const int warp = threadIdx.x >> 5;
      const int wm = (warp >> 1) * WM, wn = (warp & 1) * WN;
      for (int i = 0; i < FM; ++i)
        for (int j = 0; j < FN; ++j)
          nvcuda::wmma::store_matrix_sync(c + (wm + i * 16) * LDC + wn + j * 16, acc[i][j], LDC, nvcuda::wmma::mem_row_major);
    } else {
      const int tx = threadIdx.x % TX, ty = threadIdx.x / TX;
#pragma unroll
      for (int i = 0; i < TM; ++i)
#pragma unroll
        for (int j = 0; j < TN; ++j) c[(ty + i * TY) * LDC + tx + j * TX] = acc[i][j];
    }
  }
};

#define ALTO_CUDA_TRY(expr)                         \
  do {                                              \
    if ((expr) != cudaSuccess) return ALTO_ERR_CUDA; \
  } while (0)

// Host-side checks of the scalar fields (the arrays live on the device).
inline alto_status check_segments(const alto_segments* s) {
  if (!s || s->num_segments < 0 || s->total_rows < 0 || s->num_adapters < 0 || s->num_adapters > ALTO_MAX_ADAPTERS) {
    return ALTO_ERR_INVALID_ARGUMENT;
  }
  if (s->max_rank < 1 || s->max_rank > ALTO_MAX_RANK || !s->seg_offsets) return ALTO_ERR_INVALID_ARGUMENT;
  if (s->num_segments > 0 && !s->seg_adapter) return ALTO_ERR_INVALID_ARGUMENT;
  if (s->num_adapters > 0 && (!s->ranks || !s->scales)) return ALTO_ERR_INVALID_ARGUMENT;
  return ALTO_OK;
}

// Upper bound on the tiles of `tile_rows` rows over all segments.
inline int64_t tile_bound(const alto_segments* s, int32_t tile_rows) {
  return (static_cast<int64_t>(s->total_rows) + tile_rows - 1) / tile_rows + s->num_segments;
}

}  // namespace alto::cuda
