// Expand on fp32 storage with TF32 products (Y = base + s·S·B, dX = dx_base + dS·Aᵀ): the
// pipeline of the bf16 bulk-tensor kernel (expand_tma.cuh) on fp32 tiles of 32 columns — one
// 128-byte swizzled row each — with mma.sync m16n8k8 TF32.
//
// What differs from bf16, and why:
// - Each warp loads its 16 rows of S once, as TF32 A fragments kept in registers for all of
//   the block's columns (at most 32 registers at rank 64), so a step reads only the weight
//   slice from shared memory.
// - TF32 has no ldmatrix.trans, so B fragments are single 32-bit loads. The slice pads keep
//   a fragment's 32 loads on 32 banks: B stored [rank][column] is read at t·40 + g (rows of
//   32 + 8 floats), A stored [column][rank] at g·(RP + 4) + t.
// - Six stages, four of them loading ahead: a step moves half the columns of a bf16 step's
//   bytes, so more steps are in flight for the same bytes.
// - base may be null (out = the product alone, as the tfjs backend's dX of the LoRA branch):
//   the stage's tile is then only where the sums are written for their bulk store.
// fp32 bits are read as TF32 (low 13 mantissa bits ignored), as the wgmma TF32 kernels do.
#pragma once
#include "kernels_bf16.cuh"
#include "tma.cuh"

namespace alto::cuda {

namespace ext32 {
constexpr int kThreads = 128, kRows = 64, kStep = 32, kStages = 6, kAhead = 4;
constexpr int kTileBytes = kRows * kStep * 4;
constexpr int kBarBytes = 128;  // the stages' barriers, padded so what follows stays 16-byte aligned
static_assert(kStages * 8 <= kBarBytes, "barrier area too small");
constexpr int kLdB = kStep + 8;                                         // B slice: [rank][column]
__host__ __device__ constexpr int ld_a(int rp) { return rp + 4; }  // A slice: [column][rank]
__host__ __device__ constexpr int w_elems(int rp) { return rp * kLdB > kStep * ld_a(rp) ? rp * kLdB : kStep * ld_a(rp); }
// Shared memory: 1 KB alignment slack, the base tiles, the barriers, the weight slices.
__host__ __device__ constexpr size_t smem_bytes(int rp) { return 1024 + kStages * kTileBytes + kBarBytes + kStages * w_elems(rp) * 4; }
}  // namespace ext32

template <bool kTransposedW, int RP>
__global__ void __launch_bounds__(ext32::kThreads) expand_tma_tf32(const __grid_constant__ CUtensorMap base_map,
                                                                   const __grid_constant__ CUtensorMap out_map, alto_segments seg, int32_t span,
                                                                   const float* small, const float* const* W, int32_t d, const float* base,
                                                                   float* out) {
#ifdef ALTO_TMA
  extern __shared__ __align__(128) unsigned char smem_raw[];
  unsigned char* aligned = reinterpret_cast<unsigned char*>((reinterpret_cast<uintptr_t>(smem_raw) + 1023) & ~uintptr_t(1023));
  float* tiles = reinterpret_cast<float*>(aligned);
  uint64_t* bars = reinterpret_cast<uint64_t*>(aligned + ext32::kStages * ext32::kTileBytes);
  float* w_stages = reinterpret_cast<float*>(aligned + ext32::kStages * ext32::kTileBytes + ext32::kBarBytes);
  constexpr int kLdA = ext32::ld_a(RP), kWElems = ext32::w_elems(RP);

  SegmentTile t;
  if (!find_segment_tile(seg, blockIdx.x, ext32::kRows, t)) return;
  const int32_t c_begin = blockIdx.y * span;
  if (c_begin >= d) return;
  const int32_t c_end = min(d, c_begin + span);
  if (t.adapter < 0) {  // rows without LoRA: out = base (or zeros)
    copy_base_rows(out, base, base != nullptr, d, t, c_begin, c_end, ext32::kThreads);
    return;
  }
  const bool has_base = base != nullptr;
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, tq = lane & 3;
  const bool leader = threadIdx.x == 0;
  const int32_t r = seg.ranks[t.adapter], r_used = (r + 7) / 8 * 8;
  const float* w = W[t.adapter];
  const float scale = kTransposedW ? 1.0f : seg.scales[t.adapter];
  const bool w_aligned = kTransposedW ? rows_aligned(w, r) : rows_aligned(w, d);
  if (leader) {
    for (int k = 0; k < ext32::kStages; ++k) tma::mbar_init(&bars[k], 1);
    tma::mbar_fence_init();
  }

  const int steps = (c_end - c_begin + ext32::kStep - 1) / ext32::kStep;
  using WStream = typename std::conditional<kTransposedW, StreamTile<float, ext32::kStep, RP, kLdA, ext32::kThreads>,
                                            StreamTile<float, RP, ext32::kStep, ext32::kLdB, ext32::kThreads>>::type;
  WStream w_stream;
  if constexpr (kTransposedW) w_stream.init(r, ext32::kStep, r, ext32::kStep, r_used);
  else w_stream.init(d, r, ext32::kStep, r_used);
  auto load = [&](int st) {
    if (st < steps) {
      const int32_t n0 = c_begin + st * ext32::kStep, cols = min(ext32::kStep, d - n0);
      const int k = st % ext32::kStages;
      if (leader && has_base) {
        tma::mbar_expect_tx(&bars[k], ext32::kTileBytes);
        tma::load_2d(tiles + k * ext32::kRows * ext32::kStep, &base_map, n0, t.row0, &bars[k]);
      }
      float* wd = w_stages + k * kWElems;
      const float* ws = kTransposedW ? w + static_cast<int64_t>(n0) * r : w + n0;
      if (w_aligned && cols == ext32::kStep) {
        w_stream.issue(wd, ws);
      } else if constexpr (kTransposedW) {
        copy_rect<float>(wd, kLdA, ws, r, ext32::kStep, RP, cols, r, w_aligned, ext32::kThreads);
      } else {
        copy_rect<float>(wd, ext32::kLdB, ws, d, RP, ext32::kStep, r, cols, w_aligned, ext32::kThreads);
      }
    }
    cp_async_commit();
  };
  for (int st = 0; st < ext32::kAhead; ++st) load(st);
  // The warp's S rows as A fragments, zeros past the rank or the segment, while the first
  // tiles are on their way.
  unsigned a_frag[RP / 8][4];
  {
    const float* s_rows = small + static_cast<int64_t>(t.row0 + warp * 16) * seg.max_rank;
    const int rows = t.rows - warp * 16;
#pragma unroll
    for (int kk = 0; kk < RP / 8; ++kk) {
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        const int row = g + 8 * (i & 1), col = 8 * kk + tq + 4 * (i >> 1);
        a_frag[kk][i] = row < rows && col < r ? __float_as_uint(s_rows[static_cast<int64_t>(row) * seg.max_rank + col]) : 0u;
      }
    }
  }
  __syncthreads();  // the barriers' initialisation, for every thread
  for (int st = 0; st < steps; ++st) {
    const int k = st % ext32::kStages;
    cp_async_wait<ext32::kAhead - 1>();
    // The stage refilled below was last stored kStages - kAhead steps ago: each warp's store
    // of it has read shared memory before the barrier.
    if (lane == 0) tma::store_wait_read<ext32::kStages - ext32::kAhead - 1>();
    if (has_base) tma::mbar_wait(&bars[k], (st / ext32::kStages) & 1);
    __syncthreads();
    load(st + ext32::kAhead);
    const int32_t n0 = c_begin + st * ext32::kStep;
    const float* wst = w_stages + k * kWElems;
    float* tile = tiles + k * ext32::kRows * ext32::kStep;
    float acc[4][4] = {};
#pragma unroll
    for (int kk = 0; kk < RP / 8; ++kk) {
      if (8 * kk >= r_used) break;
#pragma unroll
      for (int nt = 0; nt < 4; ++nt) {
        const int n = 8 * nt + g, k0 = 8 * kk + tq;
        const float* b = kTransposedW ? wst + n * kLdA + k0 : wst + k0 * ext32::kLdB + n;
        const int k_stride = kTransposedW ? 4 : 4 * ext32::kLdB;
        mma::mma_tf32(acc[nt], a_frag[kk], __float_as_uint(b[0]), __float_as_uint(b[k_stride]));
      }
    }
    // Rows 16·warp + g (+8) have (row mod 8) = g: column c of either sits in chunk (c / 4) ^ g.
#pragma unroll
    for (int nt = 0; nt < 4; ++nt) {
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        const int row = warp * 16 + g + 8 * h, col = 8 * nt + 2 * tq;
        float2* p = reinterpret_cast<float2*>(tile + row * ext32::kStep + (((col >> 2) ^ g) << 2) + (col & 3));
        const float2 b2 = has_base ? *p : make_float2(0.0f, 0.0f);
        *p = make_float2(b2.x + scale * acc[nt][2 * h], b2.y + scale * acc[nt][2 * h + 1]);
      }
    }
    // Each warp stores its own 16 rows.
    tma::store_warp_rows<ext32::kStep>(&out_map, tile + warp * 16 * ext32::kStep, out, d, t.row0 + warp * 16, n0, t.rows - warp * 16,
                                    t.rows == ext32::kRows, lane);
  }
  if (lane == 0) tma::store_wait<0>();  // shared memory stays valid until every store has read it
  cp_async_wait<0>();
#endif
}

}  // namespace alto::cuda
