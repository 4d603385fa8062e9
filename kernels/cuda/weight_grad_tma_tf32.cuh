// Weight gradients (dA += Xᵀ·dS, dB += s·Sᵀ·dY) on fp32 storage with TF32 products, on
// Hopper: the work items, segment cache and producer warp of the bf16 kernel
// (weight_grad_tma.cuh), with mma.sync m16n8k8 consumers. TF32 wgmma takes K-major shared
// operands only, and here the reduction runs over rows, the outer index of both tiles.
//
// Per 32-row step the producer brings, by tensor copies, the 32 × 128 tile of X or dY (four
// 32-column boxes) and the 32 × 64 tile of dS or S (two boxes; the second only for ranks past
// 32), each box 128-byte swizzled: element (row, c) at row·32 + ((c / 4) ^ (row mod 8))·4 + c mod 4.
// Each consumer warp owns one 32-column box of the large tile: C(col, j) += Σ_rows
// big[row][col]·small[row][j], M = 32 columns, N = 64 ranks, K = rows.
//
// Fragments are single 32-bit loads, lane (g, t) reading row t (or t + 4) at the 8 columns of
// an operand tile. Those 8 columns are taken as {4p .. 4p + 3, 16 + 4p .. 16 + 4p + 3} of a box
// (p = 0..3): column (g mod 4) + 16·(g / 4) + 4p sits in chunk (4·(g / 4) + p) ^ t, so the 32
// lanes meet 32 banks. M and N are only output indices, so the epilogue maps them back.
// Example: lane g = 5, t = 2, p = 1 reads column 1 + 16 + 4 = 21, chunk 5 ^ 2 = 7, bank 29.
#pragma once
#include "mma.cuh"
#include "tile.cuh"
#include "tma.cuh"
#include "weight_grad_items.cuh"

namespace alto::cuda {

namespace wgt32 {
constexpr int kConsumers = 4, kThreads = 32 * (kConsumers + 1), kRows = 32, kCols = 128, kStages = 4;
constexpr int kBoxBytes = kRows * 32 * 4;  // one 32 × 32 fp32 box, swizzled
constexpr int kBigBytes = 4 * kBoxBytes, kSmallBytes = 2 * kBoxBytes, kStageBytes = kBigBytes + kSmallBytes;
constexpr int kBlocksPerSm = 2;
// Shared memory: the stages (large tile, then small), barriers and segment table (GradRing).
using Ring = GradRing<kStages, kStageBytes, kConsumers>;
// Column of a box that fragment column x (0..7) of group p (0..3) stands for.
__device__ __forceinline__ int group_col(int p, int x) { return 4 * p + (x & 3) + 16 * (x >> 2); }
}  // namespace wgt32

// maps: X and dY (boxes of 32 rows × 32 columns), dS and S (the same; columns past max_rank
// read as zeros). The launcher guarantees max_rank ≤ 64.
__global__ void __launch_bounds__(wgt32::kThreads, wgt32::kBlocksPerSm) weight_grad_tma_tf32(const __grid_constant__ CUtensorMap x_map, const __grid_constant__ CUtensorMap dy_map,
                                                                        const __grid_constant__ CUtensorMap ds_map, const __grid_constant__ CUtensorMap s_map,
                                                                        alto_segments global_seg, int32_t chunk_rows, int32_t d_in,
                                                                        int32_t d_out, float* const* dA, float* const* dB) {
#ifdef ALTO_TMA
  extern __shared__ __align__(128) unsigned char smem_raw[];
  const wgt32::Ring ring(smem_raw);
  unsigned char* stages = ring.stages;  // stage s: the large tile, then the small one
  uint64_t *full = ring.full, *empty = ring.empty;
  SegmentCache& cache = *ring.cache;
  const alto_segments seg = cache_segments(global_seg, cache, chunk_rows);
  ring.init_barriers();
  __syncthreads();
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int small_boxes = seg.max_rank > 32 ? 2 : 1;
  const GradItems<wgt32::kCols, true> items(seg, chunk_rows, d_in, d_out, cache.tiles);
  if (warp == wgt32::kConsumers) {
    produce_stages<wgt32::kStages, wgt32::kRows>(items, empty, lane, [&](int s, bool is_b, int32_t n0, int32_t row) {
      unsigned char* big = stages + s * wgt32::kStageBytes;
      const CUtensorMap* big_map = is_b ? &dy_map : &x_map;
      const CUtensorMap* small_map = is_b ? &s_map : &ds_map;
      tma::mbar_expect_tx(&full[s], wgt32::kBigBytes + small_boxes * wgt32::kBoxBytes);
      for (int b = 0; b < 4; ++b) tma::load_2d(big + b * wgt32::kBoxBytes, big_map, n0 + 32 * b, row, &full[s]);
      for (int b = 0; b < small_boxes; ++b) tma::load_2d(big + wgt32::kBigBytes + b * wgt32::kBoxBytes, small_map, 32 * b, row, &full[s]);
    });
    return;
  }
  int it = 0;  // steps through the ring so far, across items
  const int g = lane >> 2, tq = lane & 3;
  // This lane's offsets in a swizzled box for fragment rows t and t + 4 (k0 a multiple of 8,
  // so row mod 8 is t or t + 4) at the columns of group p.
  const auto at = [&](int row, int p) { return row * 32 + ((((4 * (g >> 2) + p) ^ row) & 7) << 2) + (g & 3); };
  for (int64_t i = blockIdx.x; i < items.count(); i += gridDim.x) {
    bool is_b;
    int32_t n0;
    SegmentTile t;
    if (!items.decode(i, is_b, n0, t)) continue;
    const int steps = (t.rows + wgt32::kRows - 1) / wgt32::kRows;
    float* dst = is_b ? dB[t.adapter] : dA[t.adapter];  // loaded now, used after the steps
    const int32_t r = seg.ranks[t.adapter];
    const int n_tiles = r > 32 ? 8 : 4;
    float acc[2][8][4] = {};
    for (int q = 0; q < steps; ++q, ++it) {
      const int s = it % wgt32::kStages;
      const int valid = min(wgt32::kRows, t.rows - q * wgt32::kRows);
      tma::mbar_wait(&full[s], (it / wgt32::kStages) & 1);
      float* big = reinterpret_cast<float*>(stages + s * wgt32::kStageBytes);
      float* small = big + wgt32::kBigBytes / 4;
      if (valid < wgt32::kRows) {
        // Rows of the next segment (or past the matrix) read as zeros, in both operands. A
        // swizzled row keeps its 128 bytes, only their order changes.
        for (int e = threadIdx.x; e < (wgt32::kRows - valid) * 6 * 8; e += 32 * wgt32::kConsumers) {
          const int row = valid + e / 48, box = (e % 48) / 8, c = e & 7;
          *reinterpret_cast<uint4*>(big + box * (wgt32::kBoxBytes / 4) + row * 32 + c * 4) = make_uint4(0, 0, 0, 0);
        }
        asm volatile("bar.sync 1, %0;\n" ::"n"(wgt32::kConsumers * 32) : "memory");  // the consumer warps only
      }
      const float* mine = big + warp * (wgt32::kBoxBytes / 4);
#pragma unroll
      for (int k0 = 0; k0 < wgt32::kRows; k0 += 8) {
        const int r0 = k0 + tq, r1 = k0 + tq + 4;
        unsigned a[2][4];
#pragma unroll
        for (int mt = 0; mt < 2; ++mt) {
          a[mt][0] = __float_as_uint(mine[at(r0, 2 * mt)]);
          a[mt][1] = __float_as_uint(mine[at(r0, 2 * mt + 1)]);
          a[mt][2] = __float_as_uint(mine[at(r1, 2 * mt)]);
          a[mt][3] = __float_as_uint(mine[at(r1, 2 * mt + 1)]);
        }
#pragma unroll
        for (int nt = 0; nt < 8; ++nt) {
          if (nt >= n_tiles) break;
          const float* box = small + (nt >> 2) * (wgt32::kBoxBytes / 4);
          const unsigned b0 = __float_as_uint(box[at(r0, nt & 3)]), b1 = __float_as_uint(box[at(r1, nt & 3)]);
          mma::mma_tf32(acc[0][nt], a[0], b0, b1);
          mma::mma_tf32(acc[1][nt], a[1], b0, b1);
        }
      }
      __syncwarp();
      if (lane == 0) tma::mbar_arrive(&empty[s]);
    }
    const int32_t d = is_b ? d_out : d_in;
    const float scale = is_b ? seg.scales[t.adapter] : 1.0f;
#pragma unroll
    for (int mt = 0; mt < 2; ++mt) {
#pragma unroll
      for (int nt = 0; nt < 8; ++nt) {
        if (nt >= n_tiles) break;
#pragma unroll
        for (int half = 0; half < 2; ++half) {
          // Columns group_col(p, g) and group_col(p, g ^ 1) are neighbours, rows 2t and 2t + 1 too.
          add_grad_pair(dst, is_b, d, r, n0 + 32 * warp + wgt32::group_col(2 * mt + half, g), 32 * (nt >> 2) + wgt32::group_col(nt & 3, 2 * tq),
                        scale * acc[mt][nt][2 * half], scale * acc[mt][nt][2 * half + 1], g & 1);
        }
      }
    }
  }
#endif
}

}  // namespace alto::cuda
