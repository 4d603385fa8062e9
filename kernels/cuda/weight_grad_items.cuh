// What the Hopper weight-gradient kernels (weight_grad_tma.cuh, bf16; weight_grad_tma_tf32.cuh,
// TF32) share: their work items and the producer warp that feeds their stage ring.
#pragma once
#include "tile.cuh"
#include "tma.cuh"

namespace alto::cuda {

// Shared memory of the Hopper weight-gradient kernels, after 1 KB of alignment slack: kStages
// stages, their full and empty barriers, the segment table. Thread 0 initialises the barriers
// (full: the producer's one arrival; empty: one per consumer warp); the caller synchronises.
template <int kStages, int kStageBytes, int kConsumers>
struct GradRing {
  unsigned char* stages;
  uint64_t* full;
  uint64_t* empty;
  SegmentCache* cache;
  static constexpr size_t smem_bytes() { return 1024 + kStages * kStageBytes + 2 * kStages * 8 + sizeof(SegmentCache); }
  __device__ explicit GradRing(unsigned char* smem_raw)
      : stages(reinterpret_cast<unsigned char*>((reinterpret_cast<uintptr_t>(smem_raw) + 1023) & ~uintptr_t(1023))),
        full(reinterpret_cast<uint64_t*>(stages + kStages * kStageBytes)),
        empty(full + kStages),
        cache(reinterpret_cast<SegmentCache*>(empty + kStages)) {}
  __device__ void init_barriers() const {
    if (threadIdx.x == 0) {
      for (int k = 0; k < kStages; ++k) {
        tma::mbar_init(&full[k], 1);
        tma::mbar_init(&empty[k], kConsumers);
      }
      tma::mbar_fence_init();
    }
  }
};

// Work item i: (dA or dB, a kCols-column tile of d_in or d_out, a chunk of one segment's rows),
// dA's column tiles before dB's. Numbered with the chunks innermost, or with the column tiles
// innermost (kTilesInner: the blocks running at one time then share a few chunks' rows of S
// and dS from L2).
template <int kCols, bool kTilesInner>
struct GradItems {
  const alto_segments& seg;
  int32_t chunk_rows, tiles_in, tiles, chunks;
  __device__ GradItems(const alto_segments& s, int32_t rows, int32_t d_in, int32_t d_out, int32_t chunk_count)
      : seg(s), chunk_rows(rows), tiles_in((d_in + kCols - 1) / kCols), tiles(tiles_in + (d_out + kCols - 1) / kCols), chunks(chunk_count) {}
  __device__ int64_t count() const { return static_cast<int64_t>(tiles) * chunks; }
  // False when the chunk has no rows there or its rows have no adapter.
  __device__ bool decode(int64_t i, bool& is_b, int32_t& n0, SegmentTile& t) const {
    const int32_t tile = static_cast<int32_t>(kTilesInner ? i % tiles : i / chunks);
    // The last chunks first: the dS kernel, which runs just before, read their rows of dY last,
    // so the first items find them in L2.
    const int32_t chunk = chunks - 1 - static_cast<int32_t>(kTilesInner ? i / tiles : i % chunks);
    is_b = tile >= tiles_in;
    n0 = (is_b ? tile - tiles_in : tile) * kCols;
    return find_segment_tile(seg, chunk, chunk_rows, t) && t.adapter >= 0;
  }
};

// The producer warp: walks the block's items and, for each kRows-row step, waits until the
// step's stage is free; then lane 0 calls load(stage, is_b, n0, first row) to issue its copies.
template <int kStages, int kRows, typename Items, typename Load>
__device__ __forceinline__ void produce_stages(const Items& items, uint64_t* empty, int lane, Load&& load) {
  int it = 0;  // steps through the ring so far, across items
  for (int64_t i = blockIdx.x; i < items.count(); i += gridDim.x) {
    bool is_b;
    int32_t n0;
    SegmentTile t;
    if (!items.decode(i, is_b, n0, t)) continue;
    const int steps = (t.rows + kRows - 1) / kRows;
    for (int q = 0; q < steps; ++q, ++it) {
      const int s = it % kStages;
      if (it >= kStages) tma::mbar_wait(&empty[s], ((it / kStages) - 1) & 1);
      if (lane == 0) load(s, is_b, n0, t.row0 + q * kRows);
      __syncwarp();
    }
  }
}

// Adds this lane's two values of an m16n8 C fragment row — (col, j0) and (col, j0 + 1), scaled
// already — into dA ([col][j], r per row) or dB ([j][col], d per row) with 8-byte vector
// reductions where the layout allows: half the atomic operations of scalar adds.
// dA: the lane's pair is contiguous. dB: lane ^ 4 holds the same j's at the neighbouring
// column (odd_col tells which of the two this lane has), so the lanes trade one value and
// the even-column lane adds row j0 (col, col + 1), the odd-column lane row j0 + 1.
// Every lane of the warp must call it (the trade is a shuffle); is_b is the same for all.
__device__ __forceinline__ void add_grad_pair(float* dst, bool is_b, int32_t d, int32_t r, int32_t col, int32_t j0, float v0, float v1, bool odd_col) {
  const bool vec = (reinterpret_cast<uintptr_t>(dst) & 7) == 0 && (is_b ? d : r) % 2 == 0;
  int32_t row = col, first = j0, len = r, ld = r, rows = d;
  float lo = v0, hi = v1;
  if (is_b) {
    const float got = __shfl_xor_sync(0xffffffffu, odd_col ? v0 : v1, 4);
    row = odd_col ? j0 + 1 : j0;
    first = odd_col ? col - 1 : col;
    lo = odd_col ? got : v0;
    hi = odd_col ? v1 : got;
    len = d;
    ld = d;
    rows = r;
  }
  if (row >= rows || first >= len) return;
  add_pair(dst + static_cast<int64_t>(row) * ld + first, lo, hi, first + 1 < len, vec);
}

}  // namespace alto::cuda
