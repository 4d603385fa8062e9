// Block-level building blocks shared by the CUDA kernels:
//   - segment tiles: which rows of which segment a block owns (a warp-wide scan of the
//     segment lengths: no host-built tile list, no compile-time sizes),
//   - tile copies with tail handling: cp.async 16-byte copies (zero-filled past the edge)
//     when rows are 16-byte aligned, element copies otherwise,
//   - a block GEMM over shared-memory tiles, 8 warps: tensor cores (WMMA, fp32 accumulate)
//     for bf16 storage and for fp32 storage with TF32 products (kTf32), plain fp32 FMAs for
//     exact fp32.
#pragma once
#include <cuda_bf16.h>
#include <mma.h>
#include <stdint.h>
#include <type_traits>

#include "alto/kernels.h"

namespace alto::cuda {

using bf16 = __nv_bfloat16;
constexpr int kThreads = 256;

template <typename E> __device__ __forceinline__ float to_float(E v);
template <> __device__ __forceinline__ float to_float<float>(float v) { return v; }
template <> __device__ __forceinline__ float to_float<bf16>(bf16 v) { return __bfloat162float(v); }
template <typename E> __device__ __forceinline__ E from_float(float v);
template <> __device__ __forceinline__ float from_float<float>(float v) { return v; }
template <> __device__ __forceinline__ bf16 from_float<bf16>(float v) { return __float2bfloat16_rn(v); }

// Adds x (and y beside it, when `two`) into p: one 8-byte reduction where `vec` (the caller
// knows p is 8-byte aligned), scalar atomic adds otherwise.
__device__ __forceinline__ void add_pair(float* p, float x, float y, bool two, bool vec) {
  if (two && vec) {
    asm volatile("red.global.add.v2.f32 [%0], {%1, %2};\n" ::"l"(p), "f"(x), "f"(y) : "memory");
  } else {
    atomicAdd(p, x);
    if (two) atomicAdd(p + 1, y);
  }
}

// The rows a block works on: `rows` consecutive rows from `row0`, all in one segment.
struct SegmentTile {
  int32_t row0;
  int32_t rows;
  int32_t adapter;  // -1: no LoRA on these rows
};

// The expand's rows without LoRA: out = base (zeros where there is none) over columns
// c_begin .. c_end of the tile's rows; nt threads take part.
template <typename E>
__device__ __forceinline__ void copy_base_rows(E* out, const E* base, bool has_base, int32_t d, const SegmentTile& t, int32_t c_begin,
                                               int32_t c_end, int nt) {
  for (int i = threadIdx.x; i < t.rows * (c_end - c_begin); i += nt) {
    const int64_t at = static_cast<int64_t>(t.row0 + i / (c_end - c_begin)) * d + c_begin + i % (c_end - c_begin);
    out[at] = has_base ? base[at] : from_float<E>(0.0f);
  }
}

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
      const int32_t first = before + __shfl_sync(0xffffffffu, inclusive - count, src);
      const int32_t seg_start = __shfl_sync(0xffffffffu, start, src);
      const int32_t seg_len = __shfl_sync(0xffffffffu, len, src);
      out.row0 = seg_start + (tile - first) * tile_rows;
      out.rows = min(tile_rows, seg_start + seg_len - out.row0);
      out.adapter = s.seg_adapter[g0 + src];
      return true;
    }
    before += total;
  }
  return false;
}

// The segment table copied into shared memory, for persistent blocks that look up many tiles:
// a lookup then costs shared-memory loads, not dependent global ones. Launchers check
// num_segments ≤ kCachedSegments.
constexpr int kCachedSegments = 256;
struct SegmentCache {
  int32_t offsets[kCachedSegments + 1];
  int32_t adapter[kCachedSegments];
  int32_t ranks[ALTO_MAX_ADAPTERS];
  float scales[ALTO_MAX_ADAPTERS];
  int32_t tiles;  // tiles of `tile_rows` rows over all segments
};

// Fills `c` (every thread of the block takes part; the caller syncs before using it) and
// returns `s` with its arrays pointing there.
__device__ inline alto_segments cache_segments(const alto_segments& s, SegmentCache& c, int32_t tile_rows) {
  if (threadIdx.x == 0) c.tiles = 0;
  for (int i = threadIdx.x; i <= s.num_segments; i += blockDim.x) c.offsets[i] = s.seg_offsets[i];
  for (int i = threadIdx.x; i < s.num_segments; i += blockDim.x) c.adapter[i] = s.seg_adapter[i];
  for (int i = threadIdx.x; i < s.num_adapters; i += blockDim.x) {
    c.ranks[i] = s.ranks[i];
    c.scales[i] = s.scales[i];
  }
  __syncthreads();
  int32_t mine = 0;
  for (int i = threadIdx.x; i < s.num_segments; i += blockDim.x) mine += (c.offsets[i + 1] - c.offsets[i] + tile_rows - 1) / tile_rows;
  if (mine) atomicAdd(&c.tiles, mine);
  alto_segments out = s;
  out.seg_offsets = c.offsets;
  out.seg_adapter = c.adapter;
  out.ranks = c.ranks;
  out.scales = c.scales;
  return out;
}

__device__ __forceinline__ void cp_async16(void* smem, const void* gmem, int src_bytes) {
  const unsigned dst = static_cast<unsigned>(__cvta_generic_to_shared(smem));
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(gmem), "r"(src_bytes));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int N>
__device__ __forceinline__ void cp_async_wait() { asm volatile("cp.async.wait_group %0;\n" ::"n"(N)); }

// True when every row start of a row-major matrix (base, row stride ld) is 16-byte aligned.
template <typename E>
__device__ __forceinline__ bool rows_aligned(const E* base, int64_t ld) {
  return (reinterpret_cast<uintptr_t>(base) & 15) == 0 && (ld * sizeof(E)) % 16 == 0;
}

// dst[r·LDS + c] = src[r·ld + c] for r < R, c < C; zeros outside rows_valid × cols_valid.
// aligned: cp.async copies (the caller commits and waits); otherwise element loads.
template <typename E, int R, int C, int LDS, int NT = kThreads>
__device__ __forceinline__ void copy_tile(E* dst, const E* src, int64_t ld, int rows_valid, int cols_valid, bool aligned) {
  constexpr int kVec = 16 / sizeof(E);
  static_assert(C % kVec == 0, "tile width must hold whole 16-byte vectors");
  constexpr int kChunks = R * C / kVec;
  if (aligned) {
#pragma unroll
    for (int i = threadIdx.x; i < kChunks; i += NT) {
      const int r = i / (C / kVec), c = (i % (C / kVec)) * kVec;
      const int valid = r < rows_valid ? max(0, min(kVec, cols_valid - c)) : 0;
      cp_async16(dst + r * LDS + c, valid > 0 ? src + r * ld + c : src, valid * static_cast<int>(sizeof(E)));
    }
  } else {
    for (int i = threadIdx.x; i < R * C; i += NT) {
      const int r = i / C, c = i % C;
      dst[r * LDS + c] = (r < rows_valid && c < cols_valid) ? src[r * ld + c] : from_float<E>(0.0f);
    }
  }
}

// One thread's share of a tile that is copied again and again as a window slides over a
// matrix (along its rows or its columns): where each 16-byte chunk comes from and goes to,
// and how many of its bytes are inside the matrix, worked out once. `issue` then costs a few
// instructions a chunk. The caller passes the validity of the dimension that stays fixed;
// the sliding one is taken as full (the caller uses copy_tile for a ragged last step).
// Chunks at or past rows_used / cols_used are never read by the consumer and not copied
// (a low-rank adapter in a launch sized for a higher rank).
template <typename E, int R, int C, int LDS, int NT>
struct StreamTile {
  static constexpr int kVec = 16 / sizeof(E), kPerRow = C / kVec, kChunks = R * kPerRow, kMine = (kChunks + NT - 1) / NT;
  static_assert(C % kVec == 0, "tile width must hold whole 16-byte vectors");
  int32_t src_off[kMine];
  uint32_t dst_off[kMine];
  int32_t bytes[kMine];  // -1: not copied by this thread

  __device__ __forceinline__ void init(int32_t ld, int rows_valid, int cols_valid, int rows_used = R, int cols_used = C) {
#pragma unroll
    for (int j = 0; j < kMine; ++j) {
      const int i = threadIdx.x + j * NT, r = i / kPerRow, c = (i % kPerRow) * kVec;
      src_off[j] = r * ld + c;
      dst_off[j] = static_cast<uint32_t>((r * LDS + c) * sizeof(E));
      bytes[j] = i >= kChunks || r >= rows_used || c >= cols_used
                     ? -1
                     : (r < rows_valid ? max(0, min(kVec, cols_valid - c)) * static_cast<int>(sizeof(E)) : 0);
    }
  }
  __device__ __forceinline__ void issue(E* dst, const E* src) const {
    const unsigned base = static_cast<unsigned>(__cvta_generic_to_shared(dst));
#pragma unroll
    for (int j = 0; j < kMine; ++j) {
      if (bytes[j] < 0) continue;
      const E* p = bytes[j] > 0 ? src + src_off[j] : src;
      asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(base + dst_off[j]), "l"(p), "r"(bytes[j]));
    }
  }
};

// copy_tile with run-time shape: R × C (C a multiple of 16 / sizeof(E)) into dst with
// leading dimension ldd; nt threads take part.
template <typename E>
__device__ __forceinline__ void copy_rect(E* dst, int ldd, const E* src, int64_t ld, int R, int C, int rows_valid, int cols_valid, bool aligned,
                                          int nt) {
  constexpr int kVec = 16 / sizeof(E);
  const int per_row = C / kVec;
  if (aligned) {
    for (int i = threadIdx.x; i < R * per_row; i += nt) {
      const int r = i / per_row, c = (i % per_row) * kVec;
      const int valid = r < rows_valid ? max(0, min(kVec, cols_valid - c)) : 0;
      cp_async16(dst + r * ldd + c, valid > 0 ? src + r * ld + c : src, valid * static_cast<int>(sizeof(E)));
    }
  } else {
    for (int i = threadIdx.x; i < R * C; i += nt) {
      const int r = i / C, c = i % C;
      dst[r * ldd + c] = (r < rows_valid && c < cols_valid) ? src[r * ld + c] : from_float<E>(0.0f);
    }
  }
}

// fp32 rows into the storage type, run-time shape (C a multiple of 4), through registers.
template <typename E>
__device__ __forceinline__ void convert_rect(E* dst, int ldd, const float* src, int64_t ld, int R, int C, int rows_valid, int cols_valid,
                                             int nt) {
  const bool aligned = rows_aligned(src, ld);
  const int per_row = C / 4;
  for (int i = threadIdx.x; i < R * per_row; i += nt) {
    const int r = i / per_row, c = (i % per_row) * 4;
    float v[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    if (r < rows_valid) {
      const float* p = src + r * ld + c;
      if (aligned && c + 4 <= cols_valid) {
        const float4 q = *reinterpret_cast<const float4*>(p);
        v[0] = q.x, v[1] = q.y, v[2] = q.z, v[3] = q.w;
      } else {
#pragma unroll
        for (int k = 0; k < 4; ++k) v[k] = c + k < cols_valid ? p[k] : 0.0f;
      }
    }
#pragma unroll
    for (int k = 0; k < 4; ++k) dst[r * ldd + c + k] = from_float<E>(v[k]);
  }
}

// convert_rect with a compile-time shape.
template <typename E, int R, int C, int LDS, int NT = kThreads>
__device__ __forceinline__ void convert_tile(E* dst, const float* src, int64_t ld, int rows_valid, int cols_valid) {
  convert_rect<E>(dst, LDS, src, ld, R, C, rows_valid, cols_valid, NT);
}

// Shared-memory layout of one GEMM operand tile: `kCol` = stored column-major (the
// reduction index k runs fastest), rows × cols as the product sees them.
template <typename E, int Rows, int Cols, bool kCol>
struct TileLayout {
  static constexpr int kPad = std::is_same<E, bf16>::value ? 8 : 4;
  static constexpr int kOuter = kCol ? Cols : Rows;
  static constexpr int kLd = (kCol ? Rows : Cols) + kPad;
  static constexpr int kElems = kOuter * kLd;
  __device__ static E at(const E* t, int r, int c) { return kCol ? t[c * kLd + r] : t[r * kLd + c]; }
};

// acc[BM][BN] += Σ_k a(m, k)·b(k, n) for one K tile in shared memory, 8 warps.
// Tensor cores (WARPS_M × WARPS_N warps of 16×16 WMMA fragments) for bf16 storage (k steps
// of 16) and for fp32 storage with kTf32 (inputs rounded to TF32 as they leave shared memory,
// k steps of 8); exact fp32 otherwise: a TM×4 micro-tile of FMAs per thread.
template <typename E, int BM, int BN, int BK, int WARPS_M, bool kACol, bool kBCol, bool kTf32 = false>
struct BlockGemm {
  static_assert(!kTf32 || std::is_same<E, float>::value, "TF32 products take fp32 storage");
  static constexpr bool kTensor = std::is_same<E, bf16>::value || kTf32;
  static constexpr int WARPS_N = 8 / WARPS_M;
  static constexpr int WM = BM / WARPS_M, WN = BN / WARPS_N;
  static constexpr int FM = WM / 16, FN = WN / 16;
  static_assert(FM * 16 == WM && FN * 16 == WN, "warp tiles must be whole fragments");
  static constexpr int TN = 4, TM = BM * BN / kThreads / TN;
  static constexpr int TX = BN / TN, TY = BM / TM;
  static_assert(TX * TY == kThreads, "fp32 micro-tiles must cover the block tile");
  using LayoutA = TileLayout<E, BM, BK, kACol>;
  using LayoutB = TileLayout<E, BK, BN, kBCol>;
  static constexpr int LDC = BN + 4;

  static constexpr int FK = kTf32 ? 8 : 16;  // k of one fragment
  static_assert(BK % FK == 0, "K tiles must be whole fragments");
  using In = typename std::conditional<kTf32, nvcuda::wmma::precision::tf32, bf16>::type;
  using LA = typename std::conditional<kACol, nvcuda::wmma::col_major, nvcuda::wmma::row_major>::type;
  using LB = typename std::conditional<kBCol, nvcuda::wmma::col_major, nvcuda::wmma::row_major>::type;
  using FragA = nvcuda::wmma::fragment<nvcuda::wmma::matrix_a, 16, 16, FK, In, LA>;
  using FragB = nvcuda::wmma::fragment<nvcuda::wmma::matrix_b, 16, 16, FK, In, LB>;
  using FragC = nvcuda::wmma::fragment<nvcuda::wmma::accumulator, 16, 16, FK, float>;
  typename std::conditional<kTensor, FragC[FM][FN], float[TM][TN]>::type acc;

  __device__ void zero() {
    if constexpr (kTensor) {
#pragma unroll
      for (int i = 0; i < FM; ++i)
#pragma unroll
        for (int j = 0; j < FN; ++j) nvcuda::wmma::fill_fragment(acc[i][j], 0.0f);
    } else {
#pragma unroll
      for (int i = 0; i < TM; ++i)
#pragma unroll
        for (int j = 0; j < TN; ++j) acc[i][j] = 0.0f;
    }
  }

  template <typename Frag>
  __device__ static void round_tf32(Frag& f) {
    if constexpr (kTf32) {
#pragma unroll
      for (int t = 0; t < f.num_elements; ++t) f.x[t] = nvcuda::wmma::__float_to_tf32(f.x[t]);
    }
  }

  __device__ void step(const E* a, const E* b) {
    if constexpr (kTensor) {
      const int warp = threadIdx.x >> 5;
      const int wm = (warp / WARPS_N) * WM, wn = (warp % WARPS_N) * WN;
#pragma unroll
      for (int k = 0; k < BK; k += FK) {
        FragA fa[FM];
        FragB fb[FN];
#pragma unroll
        for (int i = 0; i < FM; ++i) {
          const int m = wm + i * 16;
          nvcuda::wmma::load_matrix_sync(fa[i], kACol ? a + k * LayoutA::kLd + m : a + m * LayoutA::kLd + k, LayoutA::kLd);
          round_tf32(fa[i]);
        }
#pragma unroll
        for (int j = 0; j < FN; ++j) {
          const int n = wn + j * 16;
          nvcuda::wmma::load_matrix_sync(fb[j], kBCol ? b + n * LayoutB::kLd + k : b + k * LayoutB::kLd + n, LayoutB::kLd);
          round_tf32(fb[j]);
        }
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
        for (int i = 0; i < TM; ++i) av[i] = to_float<E>(LayoutA::at(a, ty + i * TY, k));
#pragma unroll
        for (int j = 0; j < TN; ++j) bv[j] = to_float<E>(LayoutB::at(b, k, tx + j * TX));
#pragma unroll
        for (int i = 0; i < TM; ++i)
#pragma unroll
          for (int j = 0; j < TN; ++j) acc[i][j] = fmaf(av[i], bv[j], acc[i][j]);
      }
    }
  }

  // Writes the accumulators to shared c[BM][LDC]; the caller syncs before and after.
  __device__ void store(float* c) {
    if constexpr (kTensor) {
      const int warp = threadIdx.x >> 5;
      const int wm = (warp / WARPS_N) * WM, wn = (warp % WARPS_N) * WN;
#pragma unroll
      for (int i = 0; i < FM; ++i)
#pragma unroll
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

#define ALTO_CUDA_TRY(expr)                          \
  do {                                               \
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
