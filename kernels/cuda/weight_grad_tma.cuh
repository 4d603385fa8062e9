// Weight gradients (dA += Xᵀ·dS, dB += s·Sᵀ·dY), bf16 X and dY, fp32 S, dS and gradients, on
// Hopper: the warp-specialised pipeline of reduce_tma.cuh with the rows as the reduction.
// A work item is (z: dA or dB, a 128-column tile of d, a chunk of one segment's rows); blocks
// walk the items persistently. Per 64-row step the producer warp brings, by tensor copies,
// the 64 × 128 tile of the large matrix (two 64-column boxes, 128-byte swizzled) and the
// 64 × 64 tile of the small one (S or dS, converted to bf16 once by small_to_bf16, 64 columns
// with zeros past the rank, swizzled alike); on a chunk's last, partial step the consumer
// warpgroup zeroes both tiles' rows past the chunk (so another segment's values, NaN
// included, never enter). Then eight wgmma m64n64k16 give C(col, j) += Σ_rows
// big[row][col]·small[row][j] for both column halves (both operands MN-major: rows are the
// reduction). Each item ends with fp32 atomic adds, since several chunks (and items) add into
// one adapter's gradient.
//
// Example: d 2048, 32 segments of 512 rows, chunks of 512 → 32 chunks × 16 column tiles × 2
// = 1024 items over 264 blocks; an item is 8 steps.
#pragma once
#include "tile.cuh"
#include "tma.cuh"
#include "weight_grad_items.cuh"
#include "wgmma.cuh"

namespace alto::cuda {

namespace wgt {
constexpr int kConsumers = 4, kThreads = 32 * (kConsumers + 1), kRows = 64, kCols = 128, kStages = 4;
constexpr int kBigBytes = kRows * kCols * 2;  // two 64-column boxes of 8 KB, swizzled
constexpr int kSmallBytes = kRows * 64 * 2;   // one box of 8 KB, swizzled
constexpr int kStageBytes = kBigBytes + kSmallBytes;
constexpr int kBlocksPerSm = 2;
// Shared memory: the stages (large tile, then small), barriers and segment table (GradRing).
using Ring = GradRing<kStages, kStageBytes, kConsumers>;
}  // namespace wgt

// S and dS (T × ld fp32) to bf16 rows of 64 columns (zeros past ld; ld even): blockIdx.y picks
// which. Rounded to nearest even, as the kernels that convert per tile do.
__global__ void small_to_bf16(const float* S, const float* dS, int32_t ld, int64_t pairs, bf16* s16, bf16* ds16) {
  const float* src = blockIdx.y == 0 ? S : dS;
  __nv_bfloat162* dst = reinterpret_cast<__nv_bfloat162*>(blockIdx.y == 0 ? s16 : ds16);
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < pairs; i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t row = i >> 5;
    const int32_t c = static_cast<int32_t>(i & 31) * 2;
    const float2 v = c < ld ? *reinterpret_cast<const float2*>(src + row * ld + c) : make_float2(0.0f, 0.0f);
    dst[i] = __floats2bfloat162_rn(v.x, v.y);
  }
}

// maps: X and dY, dS and S (bf16, boxes of 64 rows × 64 columns, swizzled).
// The launcher guarantees sm_90a code and max_rank ≤ 64.
__global__ void __launch_bounds__(wgt::kThreads) weight_grad_tma_bf16(const __grid_constant__ CUtensorMap x_map, const __grid_constant__ CUtensorMap dy_map,
                                                                      const __grid_constant__ CUtensorMap ds_map, const __grid_constant__ CUtensorMap s_map,
                                                                      alto_segments global_seg, int32_t chunk_rows, int32_t d_in,
                                                                      int32_t d_out, float* const* dA, float* const* dB) {
#ifdef ALTO_WGMMA
  extern __shared__ __align__(128) unsigned char smem_raw[];
  const wgt::Ring ring(smem_raw);
  unsigned char* stages = ring.stages;  // stage s: the large tile, then the small one
  uint64_t *full = ring.full, *empty = ring.empty;
  SegmentCache& cache = *ring.cache;
  const alto_segments seg = cache_segments(global_seg, cache, chunk_rows);
  ring.init_barriers();
  __syncthreads();
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const GradItems<wgt::kCols, true> items(seg, chunk_rows, d_in, d_out, cache.tiles);
  if (warp == wgt::kConsumers) {
    produce_stages<wgt::kStages, wgt::kRows>(items, empty, lane, [&](int s, bool is_b, int32_t n0, int32_t row) {
      unsigned char* big = stages + s * wgt::kStageBytes;
      const CUtensorMap* big_map = is_b ? &dy_map : &x_map;
      tma::mbar_expect_tx(&full[s], wgt::kStageBytes);
      tma::load_2d(big, big_map, n0, row, &full[s]);
      tma::load_2d(big + wgt::kBigBytes / 2, big_map, n0 + 64, row, &full[s]);
      tma::load_2d(big + wgt::kBigBytes, is_b ? &s_map : &ds_map, 0, row, &full[s]);
    });
    return;
  }
  int it = 0;  // steps through the ring so far, across items
  const int g = lane >> 2, tq = lane & 3;
  for (int64_t i = blockIdx.x; i < items.count(); i += gridDim.x) {
    bool is_b;
    int32_t n0;
    SegmentTile t;
    if (!items.decode(i, is_b, n0, t)) continue;
    const int steps = (t.rows + wgt::kRows - 1) / wgt::kRows;
    float* dst = is_b ? dB[t.adapter] : dA[t.adapter];  // loaded now, used after the steps
    float acc[2][8][4] = {};
    wgmma::StageRelease release;  // one group of MMAs in flight, as in the row-reduce
    for (int q = 0; q < steps; ++q, ++it) {
      const int s = it % wgt::kStages;
      const int valid = min(wgt::kRows, t.rows - q * wgt::kRows);
      tma::mbar_wait(&full[s], (it / wgt::kStages) & 1);
      unsigned char* big = stages + s * wgt::kStageBytes;
      unsigned char* small = big + wgt::kBigBytes;
      if (valid < wgt::kRows) {
        // Rows of the next segment (or past the matrix) read as zeros, in both operands. A
        // swizzled row keeps its 128 bytes, only their order changes.
        for (int e = threadIdx.x; e < (wgt::kRows - valid) * 24; e += 128) {
          const int row = valid + e / 24, part = (e % 24) / 8, c = e & 7;
          *reinterpret_cast<uint4*>(big + part * (wgt::kBigBytes / 2) + row * 128 + c * 16) = make_uint4(0, 0, 0, 0);
        }
        wgmma::fence_generic_to_async();
        asm volatile("bar.sync 1, %0;\n" ::"n"(wgt::kConsumers * 32) : "memory");  // the consumer warps only
      }
      wgmma::fence();
      const uint64_t desc_big = wgmma::descriptor(tma::smem(big)), desc_small = wgmma::descriptor(tma::smem(small));
#pragma unroll
      for (int kk = 0; kk < wgt::kRows / 16; ++kk) {
        // 16 rows of 128 bytes per k16 slice, in 16-byte units; the second column half is
        // 8 KB (512 units) further.
        wgmma::mma_m64n64k16<1, 1>(acc[0], desc_big + 128 * kk, desc_small + 128 * kk, q > 0 || kk > 0);
        wgmma::mma_m64n64k16<1, 1>(acc[1], desc_big + 512 + 128 * kk, desc_small + 128 * kk, q > 0 || kk > 0);
      }
      wgmma::commit();
      release.issued(empty, s, lane);
    }
    release.drain(empty, lane);
    const int32_t r = seg.ranks[t.adapter], d = is_b ? d_out : d_in;
    const float scale = is_b ? seg.scales[t.adapter] : 1.0f;
#pragma unroll
    for (int h = 0; h < 2; ++h) {
#pragma unroll
      for (int nt = 0; nt < 8; ++nt) {
#pragma unroll
        for (int half = 0; half < 2; ++half) {
          add_grad_pair(dst, is_b, d, r, n0 + 64 * h + warp * 16 + g + 8 * half, nt * 8 + 2 * tq, scale * acc[h][nt][2 * half],
                        scale * acc[h][nt][2 * half + 1], g & 1);
        }
      }
    }
  }
#endif
}

}  // namespace alto::cuda
