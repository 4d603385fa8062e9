// Expand (Y = base + s·S·B, dX = dx_base + dS·Aᵀ), bf16, with the base tiles read and the
// output tiles written by bulk-tensor copies (tma.cuh). Same block shape as expand_bf16
// (64 rows × `span` columns in 64-column steps, 4 warps) but one thread loads each base tile
// and one lane per warp stores the warp's 16 output rows: no per-thread address work for the
// large matrices. The weight slices (one pointer per adapter, so no tensor map) still
// stream by cp.async.
//
// Pipeline: stage k of kStages holds the base tile and the weight slice of steps k, k +
// kStages, …; loads run kAhead steps ahead. The sum is written over the base tile in place
// and stored from there, so a stage is refilled only after every warp's store of its
// previous step has read it (cp.async.bulk.wait_group.read before the step's barrier).
#pragma once
#include "kernels_bf16.cuh"
#include "tma.cuh"

namespace alto::cuda {

namespace ext {
constexpr int kThreads = 128, kRows = 64, kStep = 64, kStages = 5, kAhead = 3;
constexpr int kTileBytes = kRows * kStep * 2;
constexpr int kBarBytes = 128;  // the stages' barriers, padded so what follows stays 16-byte aligned
static_assert(kStages * 8 <= kBarBytes, "barrier area too small");
// Shared memory: 1 KB alignment slack, the base tiles, the barriers, the S tile, the weight slices.
__host__ __device__ constexpr size_t smem_bytes(int rp) {
  return 1024 + kStages * kTileBytes + kBarBytes + static_cast<size_t>(kRows) * (rp + 8) * 2 + kStages * ex::w_elems(rp) * 2;
}
}  // namespace ext

// The block's S rows (fp32, row stride ld) into the bf16 tile [64][RP + 8], zeros past the
// rank or the segment; loads go out eight at a time so their latencies overlap.
template <int RP>
__device__ __forceinline__ void convert_s_tile(bf16* dst, const float* src, int64_t ld, int rows, int cols) {
  constexpr int kPerRow = RP / 4, kPer = ext::kRows * kPerRow / ext::kThreads;
  const bool vec = rows_aligned(src, ld);
#pragma unroll
  for (int b = 0; b < kPer; b += 8) {
    float4 v[8];
#pragma unroll
    for (int u = 0; u < 8; ++u) {
      const int i = threadIdx.x + (b + u) * ext::kThreads, r = i / kPerRow, c = (i % kPerRow) * 4;
      v[u] = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
      if (b + u < kPer && r < rows) {
        const float* p = src + r * ld + c;
        if (vec && c + 4 <= cols) {
          v[u] = *reinterpret_cast<const float4*>(p);
        } else {
          v[u].x = c < cols ? p[0] : 0.0f;
          v[u].y = c + 1 < cols ? p[1] : 0.0f;
          v[u].z = c + 2 < cols ? p[2] : 0.0f;
          v[u].w = c + 3 < cols ? p[3] : 0.0f;
        }
      }
    }
#pragma unroll
    for (int u = 0; u < 8; ++u) {
      if (b + u >= kPer) break;
      const int i = threadIdx.x + (b + u) * ext::kThreads, r = i / kPerRow, c = (i % kPerRow) * 4;
      __nv_bfloat162 lo = __floats2bfloat162_rn(v[u].x, v[u].y), hi = __floats2bfloat162_rn(v[u].z, v[u].w);
      uint2 packed;
      packed.x = *reinterpret_cast<unsigned*>(&lo);
      packed.y = *reinterpret_cast<unsigned*>(&hi);
      *reinterpret_cast<uint2*>(dst + r * (RP + 8) + c) = packed;
    }
  }
}

template <bool kTransposedW, int RP>
__global__ void __launch_bounds__(ext::kThreads) expand_tma_bf16(const __grid_constant__ CUtensorMap base_map,
                                                                 const __grid_constant__ CUtensorMap out_map, alto_segments seg, int32_t span,
                                                                 const float* small, const bf16* const* W, int32_t d, const bf16* base,
                                                                 bf16* out) {
#ifdef ALTO_TMA
  extern __shared__ __align__(128) unsigned char smem_raw[];
  unsigned char* aligned = reinterpret_cast<unsigned char*>((reinterpret_cast<uintptr_t>(smem_raw) + 1023) & ~uintptr_t(1023));
  bf16* tiles = reinterpret_cast<bf16*>(aligned);
  uint64_t* bars = reinterpret_cast<uint64_t*>(aligned + ext::kStages * ext::kTileBytes);
  bf16* s_tile = reinterpret_cast<bf16*>(aligned + ext::kStages * ext::kTileBytes + ext::kBarBytes);
  constexpr int kLds = RP + 8, kWElems = ex::w_elems(RP);
  bf16* w_stages = s_tile + ext::kRows * kLds;

  SegmentTile t;
  if (!find_segment_tile(seg, blockIdx.x, ext::kRows, t)) return;
  const int32_t c_begin = blockIdx.y * span;
  if (c_begin >= d) return;
  const int32_t c_end = min(d, c_begin + span);
  if (t.adapter < 0) {  // rows without LoRA: out = base
    copy_base_rows(out, base, true, d, t, c_begin, c_end, ext::kThreads);
    return;
  }
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, tq = lane & 3;
  const bool leader = threadIdx.x == 0;
  const int32_t r = seg.ranks[t.adapter], r_used = ex::rank_pad(r);
  const bf16* w = W[t.adapter];
  const float scale = kTransposedW ? 1.0f : seg.scales[t.adapter];
  const bool w_aligned = kTransposedW ? rows_aligned(w, r) : rows_aligned(w, d);
  if (leader) {
    for (int k = 0; k < ext::kStages; ++k) tma::mbar_init(&bars[k], 1);
    tma::mbar_fence_init();
  }

  const int steps = (c_end - c_begin + ext::kStep - 1) / ext::kStep;
  using WStream = typename std::conditional<kTransposedW, StreamTile<bf16, ext::kStep, RP, kLds, ext::kThreads>,
                                            StreamTile<bf16, RP, ext::kStep, ex::kLdBase, ext::kThreads>>::type;
  WStream w_stream;
  if constexpr (kTransposedW) w_stream.init(r, ext::kStep, r, ext::kStep, r_used);
  else w_stream.init(d, r, ext::kStep, r_used);
  auto load = [&](int st) {
    if (st < steps) {
      const int32_t n0 = c_begin + st * ext::kStep, cols = min(ext::kStep, d - n0);
      const int k = st % ext::kStages;
      if (leader) {
        tma::mbar_expect_tx(&bars[k], ext::kTileBytes);
        tma::load_2d(tiles + k * ext::kRows * ext::kStep, &base_map, n0, t.row0, &bars[k]);
      }
      bf16* wd = w_stages + k * kWElems;
      const bf16* ws = kTransposedW ? w + static_cast<int64_t>(n0) * r : w + n0;
      if (w_aligned && cols == ext::kStep) {
        w_stream.issue(wd, ws);
      } else if constexpr (kTransposedW) {
        copy_rect<bf16>(wd, kLds, ws, r, ext::kStep, RP, cols, r, w_aligned, ext::kThreads);
      } else {
        copy_rect<bf16>(wd, ex::kLdBase, ws, d, RP, ext::kStep, r, cols, w_aligned, ext::kThreads);
      }
    }
    cp_async_commit();
  };
  for (int st = 0; st < ext::kAhead; ++st) load(st);
  // The S tile converts while the first tiles are on their way.
  convert_s_tile<RP>(s_tile, small + static_cast<int64_t>(t.row0) * seg.max_rank, seg.max_rank, t.rows, r);
  __syncthreads();  // the S tile and the barriers' initialisation, for every thread
  for (int st = 0; st < steps; ++st) {
    const int k = st % ext::kStages;
    cp_async_wait<ext::kAhead - 1>();
    // The stage refilled below was last stored kStages - kAhead steps ago: each warp's store
    // of it has read shared memory before the barrier.
    if (lane == 0) tma::store_wait_read<ext::kStages - ext::kAhead - 1>();
    tma::mbar_wait(&bars[k], (st / ext::kStages) & 1);
    __syncthreads();
    load(st + ext::kAhead);
    const int32_t n0 = c_begin + st * ext::kStep;
    const bf16* wst = w_stages + k * kWElems;
    bf16* tile = tiles + k * ext::kRows * ext::kStep;
    float acc[8][4] = {};
#pragma unroll
    for (int kk = 0; kk < RP; kk += 16) {
      if (kk >= r_used) break;
      unsigned af[4];
      mma::ldmatrix_x4(af, s_tile + warp * 16 * kLds + kk + mma::lane_a_mk(kLds));
#pragma unroll
      for (int p = 0; p < 4; ++p) {
        unsigned bf[4];
        if constexpr (kTransposedW) mma::ldmatrix_x4(bf, wst + 16 * p * kLds + kk + mma::lane_b_nk(kLds));
        else mma::ldmatrix_x4_trans(bf, wst + kk * ex::kLdBase + 16 * p + mma::lane_b_kn(ex::kLdBase));
        mma::mma_bf16(acc[2 * p], af, bf[0], bf[1]);
        mma::mma_bf16(acc[2 * p + 1], af, bf[2], bf[3]);
      }
    }
    // Rows 16·warp + g (+8) have (row mod 8) = g, so chunk nt of either sits at nt ^ g.
#pragma unroll
    for (int nt = 0; nt < 8; ++nt) {
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        const int row = warp * 16 + g + 8 * h;
        __nv_bfloat162* p = reinterpret_cast<__nv_bfloat162*>(tile + row * ext::kStep + ((nt ^ g) << 3) + 2 * tq);
        const float2 b2 = __bfloat1622float2(*p);
        *p = __floats2bfloat162_rn(b2.x + scale * acc[nt][2 * h], b2.y + scale * acc[nt][2 * h + 1]);
      }
    }
    // Each warp stores its own 16 rows.
    tma::store_warp_rows<ext::kStep>(&out_map, tile + warp * 16 * ext::kStep, out, d, t.row0 + warp * 16, n0, t.rows - warp * 16,
                                    t.rows == ext::kRows, lane);
  }
  if (lane == 0) tma::store_wait<0>();  // shared memory stays valid until every store has read it
  cp_async_wait<0>();
#endif
}

}  // namespace alto::cuda
