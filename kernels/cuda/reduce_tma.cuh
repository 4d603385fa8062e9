// Row-reduce (shrink S = X·A, dS = s·dY·Bᵀ), bf16 or fp32 with TF32 products, warp-specialised
// on Hopper: one producer warp fills a ring of stages (a 64-row tile of the large matrix, 128
// bytes of each row — 64 bf16 or 32 fp32 values of k —, by one tensor copy with the 128-byte
// swizzle; the weight slice by cp.async into the same swizzled layout, since many small bulk
// copies would queue on the copy engine), and the four consumer warps multiply each stage
// with four warpgroup MMAs (wgmma.cuh) reading both operands from shared memory — but for the
// TF32 shrink, turned around (below), since TF32 MMAs take K-major shared operands only.
// A stage goes to the consumers on its `full` barrier (complete when the tensor copy's bytes
// and every producer lane's chunks have landed) and back on its `empty` barrier (one arrival
// per consumer warp): no block-wide barrier in the loop, and the ring runs on across row
// tiles, since each block walks the row tiles persistently (tile = blockIdx.x, + gridDim.x…).
//
// When the row tiles alone do not fill the GPU, kSplit: blockIdx.y splits the K steps, each
// block reduces its share of d and adds its partial sums into the output, which the launcher
// has zeroed (a kernel of its own, so that the plain one's code stays as it was).
//
// Example: T = 1024 rows in one segment, d = 2048 (bf16: 32 K steps of 64), 132 SMs → 16 row
// tiles; 264 resident blocks / 16 tiles → 16 splits of 2 K steps each, 256 blocks; stage s
// holds a block's steps s, s + 6, …, and the producer is at most 6 steps ahead of the slowest
// consumer warp.
#pragma once
#include "tile.cuh"
#include "tma.cuh"
#include "wgmma.cuh"

namespace alto::cuda {

namespace rrt {
constexpr int kConsumers = 4, kThreads = 32 * (kConsumers + 1), kRows = 16 * kConsumers, kStages = 6;
// k per stage: one 128-byte row of the element type.
template <typename E> __host__ __device__ constexpr int k_step() { return 128 / sizeof(E); }
constexpr int kBigBytes = kRows * 128;  // 64 rows of 128 bytes, swizzled, 1024-byte aligned
// The TF32 shrink's A slice, as stored (32 k rows of up to 64 ranks), rows padded to 72 floats
// so that the fragment loads (lanes: 8 ranks × 4 k rows) meet 32 different banks.
constexpr int kTurnedLd = 72;
// True for the TF32 shrink, whose product is turned around (see the kernel).
template <typename E, bool kTransposedW> __host__ __device__ constexpr bool turned() { return sizeof(E) == 4 && !kTransposedW; }
// A stage's weight slice: 64 rows of 128 bytes, swizzled (k rows of A or rank rows of B), or
// the TF32 shrink's 32 padded k rows.
template <typename E, bool kTransposedW> __host__ __device__ constexpr int w_bytes() { return turned<E, kTransposedW>() ? 32 * kTurnedLd * 4 : 64 * 128; }
constexpr int kBlocksPerSm = 2;
// Weight chunks (16 bytes) per producer lane and stage, at most.
constexpr int kChunksPerLane = 64 * 128 / 16 / 32;
// 1 KB alignment slack, the large tiles, the weight slices, the full and empty barriers, the
// segment table.
template <typename E, bool kTransposedW>
__host__ __device__ constexpr size_t smem_bytes() {
  return 1024 + kStages * (kBigBytes + w_bytes<E, kTransposedW>()) + 2 * kStages * 8 + sizeof(SegmentCache);
}
}  // namespace rrt

// W stages as stored: A[k][n] (shrink, kTransposedW false: an N-major operand) or B[n][k]
// (dS, true: K-major). Weight rows go by cp.async when they are 16-byte aligned (rank a
// multiple of 16 bytes for A, d for B; the launcher checks d), by ordinary copies otherwise.
// Weight columns or rows past the adapter's rank hold whatever the stage held before: they
// reach only output columns past the rank, which are written as zeros. The launcher
// guarantees sm_90a code, d % k_step == 0 and max_rank ≤ 64.
//
// The TF32 shrink is turned around: TF32 MMAs read shared memory K-major only, and A is
// stored k-major, so the block computes Sᵀ = Aᵀ·Xᵀ — M = 64 ranks, N = the 64 rows, K = d —
// with Aᵀ from registers (each thread loads its fragment from the stage, where A sits as
// stored) and X, K-major, as the B operand from its swizzled tile; the accumulators hold Sᵀ
// and are written back transposed. Ranks past the adapter's compute garbage and are dropped.
template <typename E, bool kTransposedW, bool kSplit>
__global__ void __launch_bounds__(rrt::kThreads) row_reduce_tma(const __grid_constant__ CUtensorMap big_map, alto_segments global_seg, int32_t d,
                                                                const E* const* W, float* out) {
#ifdef ALTO_WGMMA
  extern __shared__ __align__(128) unsigned char smem_raw[];
  unsigned char* aligned = reinterpret_cast<unsigned char*>((reinterpret_cast<uintptr_t>(smem_raw) + 1023) & ~uintptr_t(1023));
  constexpr bool kF32 = std::is_same<E, float>::value, kTurned = rrt::turned<E, kTransposedW>();
  constexpr int kK = rrt::k_step<E>(), kPerChunk = 16 / sizeof(E), kWBytes = rrt::w_bytes<E, kTransposedW>();
  E* big_tiles = reinterpret_cast<E*>(aligned);
  E* w_tiles = reinterpret_cast<E*>(aligned + rrt::kStages * rrt::kBigBytes);
  uint64_t* full = reinterpret_cast<uint64_t*>(aligned + rrt::kStages * (rrt::kBigBytes + kWBytes));
  uint64_t* empty = full + rrt::kStages;
  SegmentCache& cache = *reinterpret_cast<SegmentCache*>(empty + rrt::kStages);
  const alto_segments seg = cache_segments(global_seg, cache, rrt::kRows);
  if (threadIdx.x == 0) {
    for (int k = 0; k < rrt::kStages; ++k) {
      tma::mbar_init(&full[k], 1 + 32);  // the tensor copy's arrival, then one per producer lane
      tma::mbar_init(&empty[k], rrt::kConsumers);
    }
    tma::mbar_fence_init();
  }
  __syncthreads();
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int32_t ld = seg.max_rank, nk_all = d / kK;
  // This block's K steps [k_begin, nk).
  const int32_t per_split = kSplit ? (nk_all + gridDim.y - 1) / gridDim.y : nk_all;
  const int32_t k_begin = kSplit ? blockIdx.y * per_split : 0, nk = kSplit ? min(nk_all, k_begin + per_split) : nk_all;
  if (kSplit && k_begin >= nk) return;
  SegmentTile t;
  int it = 0;  // steps through the ring so far, across tiles
  if (warp == rrt::kConsumers) {
    for (int tile = blockIdx.x; tile < cache.tiles && find_segment_tile(seg, tile, rrt::kRows, t); tile += gridDim.x) {
      if (t.adapter < 0) continue;
      const int32_t r = seg.ranks[t.adapter], ranks = min(64, r);
      const E* w = W[t.adapter];
      // Stored weight rows are 16-byte aligned: B rows (d values, d % k_step == 0) or A rows
      // (r values).
      const bool vec = (reinterpret_cast<uintptr_t>(w) & 15) == 0 && (kTransposedW || r % kPerChunk == 0);
      // This lane's 16-byte chunks of a stage's weight slice, worked out once per tile: rows
      // are k (bf16 A, 64 of them) or ranks (B), 8 chunks per row.
      const int w_rows = kTransposedW ? ranks : kK, row_chunks = kTransposedW ? 8 : (ranks + kPerChunk - 1) / kPerChunk;
      const int64_t w_ld = kTransposedW ? d : r;
      int32_t src_off[rrt::kChunksPerLane];
      uint32_t dst_off[rrt::kChunksPerLane];
#pragma unroll
      for (int j = 0; j < rrt::kChunksPerLane; ++j) {
        const int i = lane + 32 * j, row = i / row_chunks, c = i % row_chunks;
        const bool mine = i < w_rows * row_chunks;
        src_off[j] = mine ? static_cast<int32_t>(row * w_ld + c * kPerChunk) : -1;
        dst_off[j] = static_cast<uint32_t>(kTurned ? row * rrt::kTurnedLd * 4 + c * 16 : row * 128 + (((c ^ row) & 7) << 4));
      }
      for (int kt = k_begin; kt < nk; ++kt, ++it) {
        const int s = it % rrt::kStages;
        if (it >= rrt::kStages) tma::mbar_wait(&empty[s], ((it / rrt::kStages) - 1) & 1);
        const int32_t k0 = kt * kK;
        if (lane == 0) {
          tma::mbar_expect_tx(&full[s], rrt::kBigBytes);
          tma::load_2d(big_tiles + s * (rrt::kBigBytes / sizeof(E)), &big_map, k0, t.row0, &full[s]);
        }
        unsigned char* wd = reinterpret_cast<unsigned char*>(w_tiles) + s * kWBytes;
        const E* ws = kTransposedW ? w + k0 : w + static_cast<int64_t>(k0) * r;
        // The weight slice: cp.async chunks, each lane arriving once its own have landed; or,
        // for rows that are not 16-byte aligned, plain copies and an arrival.
        if (vec) {
#pragma unroll
          for (int j = 0; j < rrt::kChunksPerLane; ++j) {
            if (src_off[j] >= 0) cp_async16(wd + dst_off[j], ws + src_off[j], 16);
          }
          tma::mbar_arrive_after_cp_async(&full[s]);
        } else {
          E* wt = reinterpret_cast<E*>(wd);
          const int cols = kTransposedW ? kK : ranks;
          for (int i = lane; i < w_rows * cols; i += 32) {
            const int row = i / cols, c = i % cols;
            wt[kTurned ? row * rrt::kTurnedLd + c : tma::swizzled<E>(row, c)] = ws[row * w_ld + c];
          }
          tma::mbar_arrive(&full[s]);
        }
      }
    }
    return;
  }
  const int g = lane >> 2, tq = lane & 3;
  for (int tile = blockIdx.x; tile < cache.tiles && find_segment_tile(seg, tile, rrt::kRows, t); tile += gridDim.x) {
    const int row_a = warp * 16 + g, row_b = row_a + 8;
    float* out_a = out + static_cast<int64_t>(t.row0 + row_a) * ld;
    float* out_b = out + static_cast<int64_t>(t.row0 + row_b) * ld;
    if (t.adapter < 0) {  // rows without LoRA (zeroed already when adding)
      if constexpr (!kSplit) {
        for (int c = 2 * tq; c < ld; c += 8) {
          for (int e = 0; e < 2 && c + e < ld; ++e) {
            if (row_a < t.rows) out_a[c + e] = 0.0f;
            if (row_b < t.rows) out_b[c + e] = 0.0f;
          }
        }
      }
      continue;
    }
    const int32_t r = seg.ranks[t.adapter], ranks = min(64, r);
    float acc[8][4] = {};
    // One group of MMAs stays in flight: a stage goes back to the producer once the next
    // stage's MMAs are issued and its own are known complete, not before.
    wgmma::StageRelease release;
    for (int kt = k_begin; kt < nk; ++kt, ++it) {
      const int s = it % rrt::kStages;
      tma::mbar_wait(&full[s], (it / rrt::kStages) & 1);
      wgmma::fence_generic_to_async();  // the producer's cp.async chunks, for the tensor cores
      wgmma::fence();
      const uint64_t desc_a = wgmma::descriptor(tma::smem(big_tiles + s * (rrt::kBigBytes / sizeof(E))));
      const uint64_t desc_b = wgmma::descriptor(tma::smem(w_tiles + s * (kWBytes / sizeof(E))));
      if constexpr (kTurned) {
        // Aᵀ fragments: rank 16·warp + g (+ 8), k 8·kk + tq (+ 4) of the stage's A rows.
        const float* as = reinterpret_cast<const float*>(w_tiles) + s * (kWBytes / 4) + warp * 16 + g;
        uint32_t a[4][4];
#pragma unroll
        for (int kk = 0; kk < 4; ++kk) {
          const float* k_row = as + (8 * kk + tq) * rrt::kTurnedLd;
          a[kk][0] = __float_as_uint(k_row[0]);
          a[kk][1] = __float_as_uint(k_row[8]);
          a[kk][2] = __float_as_uint(k_row[4 * rrt::kTurnedLd]);
          a[kk][3] = __float_as_uint(k_row[4 * rrt::kTurnedLd + 8]);
        }
        wgmma::fence();
#pragma unroll
        for (int kk = 0; kk < 4; ++kk) wgmma::mma_m64n64k8_tf32_rs(acc, a[kk], desc_a + 2 * kk, kt > k_begin || kk > 0);
        wgmma::commit();
        // The fragments must outlive the MMAs: the stage goes back once they are complete.
        wgmma::wait<0>();
        __syncwarp();
        if (lane == 0) tma::mbar_arrive(&empty[s]);
      } else {
#pragma unroll
        for (int kk = 0; kk < 4; ++kk) {
          // Four MMAs of 32 bytes of k each (k16 bf16, k8 TF32). Descriptor addresses count
          // 16-byte units: 32 bytes along a K-major row, 16 rows of 128 bytes down an MN-major
          // tile.
          const int first = kt > k_begin || kk > 0;
          if constexpr (kF32) {
            wgmma::mma_m64n64k8_tf32(acc, desc_a + 2 * kk, desc_b + 2 * kk, first);
          } else {
            const uint64_t b_step = kTransposedW ? 2 * kk : 128 * kk;
            wgmma::mma_m64n64k16<0, kTransposedW ? 0 : 1>(acc, desc_a + 2 * kk, desc_b + b_step, first);
          }
        }
        wgmma::commit();
        release.issued(empty, s, lane);
      }
    }
    release.drain(empty, lane);
    if constexpr (kTurned) {
      // acc holds Sᵀ: rank 16·warp + g (+ 8) by row 8·nt + 2·tq (+ 1) of the tile.
#pragma unroll
      for (int nt = 0; nt < 8; ++nt) {
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          const int rank = warp * 16 + g + 8 * (e >> 1), row = nt * 8 + 2 * tq + (e & 1);
          if (rank >= ld || row >= t.rows) continue;
          float* o = out + static_cast<int64_t>(t.row0 + row) * ld + rank;
          if (!kSplit) *o = rank < r ? acc[nt][e] : 0.0f;
          else if (rank < r) atomicAdd(o, acc[nt][e]);
        }
      }
      continue;
    }
    // Columns past the adapter's rank are written as zeros (weights past it were never read
    // into these columns' products, whatever the stage held).
    const float scale = kTransposedW ? seg.scales[t.adapter] : 1.0f;
    if constexpr (kSplit) {
#pragma unroll
      for (int nt = 0; nt < 8; ++nt) {
        const int c = nt * 8 + 2 * tq;
        if (c >= r) break;
        if (row_a < t.rows) add_pair(out_a + c, scale * acc[nt][0], scale * acc[nt][1], c + 1 < r, (reinterpret_cast<uintptr_t>(out_a + c) & 7) == 0);
        if (row_b < t.rows) add_pair(out_b + c, scale * acc[nt][2], scale * acc[nt][3], c + 1 < r, (reinterpret_cast<uintptr_t>(out_b + c) & 7) == 0);
      }
    } else {
#pragma unroll
      for (int nt = 0; nt < 8; ++nt) {
        const int c = nt * 8 + 2 * tq;
        if (c >= ld) break;
        const float2 va = make_float2(c < r ? scale * acc[nt][0] : 0.0f, c + 1 < r ? scale * acc[nt][1] : 0.0f);
        const float2 vb = make_float2(c < r ? scale * acc[nt][2] : 0.0f, c + 1 < r ? scale * acc[nt][3] : 0.0f);
        if (c + 1 < ld && ld % 2 == 0) {
          if (row_a < t.rows) *reinterpret_cast<float2*>(out_a + c) = va;
          if (row_b < t.rows) *reinterpret_cast<float2*>(out_b + c) = vb;
        } else {
          if (row_a < t.rows) { out_a[c] = va.x; if (c + 1 < ld) out_a[c + 1] = va.y; }
          if (row_b < t.rows) { out_b[c] = vb.x; if (c + 1 < ld) out_b[c + 1] = vb.y; }
        }
      }
    }
  }
#endif
}

}  // namespace alto::cuda
