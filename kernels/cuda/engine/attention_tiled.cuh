// Causal attention on 64 × 64 tiles in shared memory, f32 (head dims 16, 32, …, 128).
//
// Each block owns one tile of 64 rows (queries in the forward and dq, keys in dk/dv) and walks
// the 64-row tiles of the other side that the causal mask leaves: K and V for the forward
// (online softmax), K and V for dq, Q and dO of every query head of the group for dk/dv. No
// T × T matrix exists anywhere; a 64 × 64 tile of probabilities lives in shared memory.
//
// Thread layout of a 64 × 64 score tile, 256 threads: thread t holds rows 4·(t / 16) + r
// (r < 4) and columns (t % 16) + 16·c (c < 4); the 16 threads of one row group are lanes of
// one half-warp, so row reductions are shuffles. Output rows [64 × dh] use the same rows and
// columns (t % 16) + 16·u, u < dh / 16. Example, dh 64: thread 17 holds rows 4..7, score
// columns 1, 17, 33, 49 and output columns 1, 17, 33, 49.
// Shared rows are padded to dh + 1 floats, so the 16 lanes reading 16 different rows at one
// column hit 16 different banks.
//
// kTc: the tile products run on the tensor cores with TF32 inputs (attention_tc.cuh); they
// leave their results in shared memory, and the threads read them in the layout above. The
// strides are then dh + 4 and 68 (what the fragments need).
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

#include "attention_tc.cuh"

namespace alto::cuda::attention_tiled {

constexpr int kTile = 64, kThreads = 256;

struct Dims {
  int64_t B, H, KV, T, dh;
  float scale;
};

// Strides of the [64, dh] tiles and of the 64 × 64 ones.
template <bool kTc>
__host__ __device__ constexpr int row_ld(int dh) { return kTc ? tc::row_ld(dh) : dh + 1; }
template <bool kTc>
__host__ __device__ constexpr int score_ld() { return kTc ? tc::kScoreLd : kTile + 1; }

// Rows [row0, row0 + 64) of a [T, dh] matrix into s (stride ld), zeros past T.
__device__ __forceinline__ void load_tile(float* s, const float* g, int64_t row0, int64_t T, int dh, int ld) {
  for (int idx = threadIdx.x; idx < kTile * dh; idx += kThreads) {
    const int r = idx / dh, c = idx - r * dh;
    s[r * ld + c] = row0 + r < T ? g[(row0 + r) * dh + c] : 0.0f;
  }
}

// load_tile, or with kTc the asynchronous copies (tc::load_rows); `tiles_landed` before the
// barrier that follows the loads.
template <bool kTc>
__device__ __forceinline__ void load(float* s, const float* g, int64_t row0, int64_t T, int dh, int ld) {
  if constexpr (kTc) tc::load_rows(s, g, row0, T, dh);
  else load_tile(s, g, row0, T, dh, ld);
}
template <bool kTc>
__device__ __forceinline__ void tiles_landed() {
  if constexpr (kTc) tc::landed();
}

// Max and sum over groups of `lanes` consecutive lanes (a power of two up to the warp).
template <int lanes>
__device__ __forceinline__ float group_max(float v) {
  for (int off = lanes / 2; off > 0; off >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, off));
  return v;
}
template <int lanes>
__device__ __forceinline__ float group_sum(float v) {
  for (int off = lanes / 2; off > 0; off >>= 1) v += __shfl_xor_sync(0xffffffffu, v, off);
  return v;
}

// acc[r][c] = Σ_k a[(row 4·rg + r)][k] · b[(row cg + 16·c)][k], both tiles of stride dh + 1.
template <int U>
__device__ __forceinline__ void tile_dot(float (&acc)[4][4], const float* a, const float* b, int rg, int cg) {
  constexpr int dh = 16 * U, ld = dh + 1;
#pragma unroll
  for (int r = 0; r < 4; ++r)
#pragma unroll
    for (int c = 0; c < 4; ++c) acc[r][c] = 0.0f;
#pragma unroll 4
  for (int k = 0; k < dh; ++k) {
    float x[4], y[4];
#pragma unroll
    for (int r = 0; r < 4; ++r) x[r] = a[(4 * rg + r) * ld + k];
#pragma unroll
    for (int c = 0; c < 4; ++c) y[c] = b[(cg + 16 * c) * ld + k];
#pragma unroll
    for (int r = 0; r < 4; ++r)
#pragma unroll
      for (int c = 0; c < 4; ++c) acc[r][c] = fmaf(x[r], y[c], acc[r][c]);
  }
}

// out[r][u] += Σ_{k < 64} w[(4·rg + r)][k] · m[k][cg + 16·u]; w of stride 65, m of stride dh + 1.
template <int U>
__device__ __forceinline__ void tile_accumulate(float (&out)[4][U], const float* w, const float* m, int rg, int cg) {
  constexpr int ld = 16 * U + 1;
#pragma unroll 4
  for (int k = 0; k < kTile; ++k) {
    float x[4];
#pragma unroll
    for (int r = 0; r < 4; ++r) x[r] = w[(4 * rg + r) * (kTile + 1) + k];
#pragma unroll
    for (int u = 0; u < U; ++u) {
      const float y = m[k * ld + cg + 16 * u];
#pragma unroll
      for (int r = 0; r < 4; ++r) out[r][u] = fmaf(x[r], y, out[r][u]);
    }
  }
}

// With kTc, a tile product's result in shared memory, read into the thread's registers:
// s[r][c] = t[(4·rg + r)·ld + cg + 16·c] (score tiles), acc[r][u] += t[(4·rg + r)·ld + cg + 16·u].
template <int ld>
__device__ __forceinline__ void read_scores(float (&s)[4][4], const float* t, int rg, int cg) {
#pragma unroll
  for (int r = 0; r < 4; ++r)
#pragma unroll
    for (int c = 0; c < 4; ++c) s[r][c] = t[(4 * rg + r) * ld + cg + 16 * c];
}
template <int U, int ld>
__device__ __forceinline__ void add_rows(float (&acc)[4][U], const float* t, int rg, int cg) {
#pragma unroll
  for (int r = 0; r < 4; ++r)
#pragma unroll
    for (int u = 0; u < U; ++u) acc[r][u] += t[(4 * rg + r) * ld + cg + 16 * u];
}

// acc += w·m over one 64-key tile (w a score-shaped tile, m a tile of dh columns): with kTc on
// the tensor cores through `scratch` (a tile free by now, ld floats a row), else on the CUDA
// cores.
template <bool kTc, int dh, int U, int ld>
__device__ __forceinline__ void accumulate_product(float (&acc)[4][U], float* scratch, const float* w, const float* m, int rg, int cg) {
  if constexpr (kTc) {
    tc::product<dh>(scratch, w, m);
    __syncthreads();
    add_rows<U, ld>(acc, scratch, rg, cg);
  } else {
    tile_accumulate<U>(acc, w, m, rg, cg);
  }
}

template <int U, bool kTc = false>
constexpr size_t forward_smem() {
  return (3 * kTile * row_ld<kTc>(16 * U) + kTile * score_ld<kTc>()) * sizeof(float);
}

// o and lse of one 64-query tile of one head, online softmax over its key tiles.
template <int U, bool kTc = false>
__global__ void __launch_bounds__(kThreads) forward(const float* q, const float* k, const float* v, float* o, float* lse, Dims d) {
  constexpr int dh = 16 * U, ld = row_ld<kTc>(dh), pld = score_ld<kTc>();
  extern __shared__ __align__(128) float sm[];
  float *Qs = sm, *Ks = Qs + kTile * ld, *Vs = Ks + kTile * ld, *Ps = Vs + kTile * ld;
  const int rg = threadIdx.x >> 4, cg = threadIdx.x & 15;
  const int64_t i0 = int64_t(blockIdx.x) * kTile, bh = blockIdx.y;
  const int64_t b = bh / d.H, h = bh % d.H, kvh = b * d.KV + h / (d.H / d.KV);
  load<kTc>(Qs, q + bh * d.T * dh, i0, d.T, dh, ld);
  tiles_landed<kTc>();  // the barrier at the loop's top follows
  float m[4], l[4], acc[4][U];
#pragma unroll
  for (int r = 0; r < 4; ++r) {
    m[r] = -INFINITY;
    l[r] = 0.0f;
#pragma unroll
    for (int u = 0; u < U; ++u) acc[r][u] = 0.0f;
  }
  for (int64_t j0 = 0; j0 < i0 + kTile && j0 < d.T; j0 += kTile) {
    __syncthreads();  // the previous tiles are read
    load<kTc>(Ks, k + kvh * d.T * dh, j0, d.T, dh, ld);
    load<kTc>(Vs, v + kvh * d.T * dh, j0, d.T, dh, ld);
    tiles_landed<kTc>();
    __syncthreads();
    float s[4][4];
    if constexpr (kTc) {
      tc::scores<dh>(Ps, Qs, Ks);
      __syncthreads();
      read_scores<pld>(s, Ps, rg, cg);  // each thread rewrites only these elements below
    } else {
      tile_dot<U>(s, Qs, Ks, rg, cg);
    }
#pragma unroll
    for (int r = 0; r < 4; ++r) {
      const int64_t qi = i0 + 4 * rg + r;
      float mx = -INFINITY;
#pragma unroll
      for (int c = 0; c < 4; ++c) {
        const int64_t kj = j0 + cg + 16 * c;
        s[r][c] = kj <= qi && kj < d.T ? s[r][c] * d.scale : -INFINITY;
        mx = fmaxf(mx, s[r][c]);
      }
      const float m_new = fmaxf(m[r], group_max<16>(mx));
      const float base = m_new == -INFINITY ? 0.0f : m_new;  // a row with no key yet
      float sum = 0.0f;
#pragma unroll
      for (int c = 0; c < 4; ++c) {
        const float p = __expf(s[r][c] - base);
        Ps[(4 * rg + r) * pld + cg + 16 * c] = p;
        sum += p;
      }
      const float rescale = __expf(m[r] - base);
      l[r] = l[r] * rescale + group_sum<16>(sum);
#pragma unroll
      for (int u = 0; u < U; ++u) acc[r][u] *= rescale;
      m[r] = m_new;
    }
    __syncthreads();
    accumulate_product<kTc, dh, U, ld>(acc, Ks, Ps, Vs, rg, cg);  // K is done with: its tile takes P·V
  }
#pragma unroll
  for (int r = 0; r < 4; ++r) {
    const int64_t qi = i0 + 4 * rg + r;
    if (qi >= d.T) continue;
#pragma unroll
    for (int u = 0; u < U; ++u) o[(bh * d.T + qi) * dh + cg + 16 * u] = acc[r][u] / l[r];
    if (cg == 0) lse[bh * d.T + qi] = m[r] + logf(l[r]);
  }
}

template <int U, bool kTc = false>
constexpr size_t grad_q_smem() {
  return (4 * kTile * row_ld<kTc>(16 * U) + (kTc ? 2 : 1) * kTile * score_ld<kTc>()) * sizeof(float);
}

// dq of one 64-query tile: Σ over its key tiles of scale · dS · K, dS = P ∘ (dO·Vᵀ − delta).
template <int U, bool kTc = false>
__global__ void __launch_bounds__(kThreads) grad_q(const float* q, const float* k, const float* v, const float* lse, const float* dO,
                                                   const float* delta, float* dq, Dims d) {
  constexpr int dh = 16 * U, ld = row_ld<kTc>(dh), pld = score_ld<kTc>();
  extern __shared__ __align__(128) float sm[];
  float *Qs = sm, *dOs = Qs + kTile * ld, *Ks = dOs + kTile * ld, *Vs = Ks + kTile * ld, *dSs = Vs + kTile * ld;
  float* dPs = dSs + kTile * pld;  // kTc only: the dO·Vᵀ tile
  const int rg = threadIdx.x >> 4, cg = threadIdx.x & 15;
  const int64_t i0 = int64_t(blockIdx.x) * kTile, bh = blockIdx.y;
  const int64_t b = bh / d.H, h = bh % d.H, kvh = b * d.KV + h / (d.H / d.KV);
  load<kTc>(Qs, q + bh * d.T * dh, i0, d.T, dh, ld);
  load<kTc>(dOs, dO + bh * d.T * dh, i0, d.T, dh, ld);
  tiles_landed<kTc>();
  float L[4], D[4], acc[4][U];
#pragma unroll
  for (int r = 0; r < 4; ++r) {
    const int64_t qi = i0 + 4 * rg + r;
    L[r] = qi < d.T ? lse[bh * d.T + qi] : 0.0f;
    D[r] = qi < d.T ? delta[bh * d.T + qi] : 0.0f;
#pragma unroll
    for (int u = 0; u < U; ++u) acc[r][u] = 0.0f;
  }
  for (int64_t j0 = 0; j0 < i0 + kTile && j0 < d.T; j0 += kTile) {
    __syncthreads();
    load<kTc>(Ks, k + kvh * d.T * dh, j0, d.T, dh, ld);
    load<kTc>(Vs, v + kvh * d.T * dh, j0, d.T, dh, ld);
    tiles_landed<kTc>();
    __syncthreads();
    float s[4][4], dp[4][4];
    if constexpr (kTc) {
      tc::scores<dh>(dSs, Qs, Ks);
      tc::scores<dh>(dPs, dOs, Vs);
      __syncthreads();
      read_scores<pld>(s, dSs, rg, cg);
      read_scores<pld>(dp, dPs, rg, cg);
    } else {
      tile_dot<U>(s, Qs, Ks, rg, cg);
      tile_dot<U>(dp, dOs, Vs, rg, cg);
    }
#pragma unroll
    for (int r = 0; r < 4; ++r) {
      const int64_t qi = i0 + 4 * rg + r;
#pragma unroll
      for (int c = 0; c < 4; ++c) {
        const int64_t kj = j0 + cg + 16 * c;
        const float p = kj <= qi && qi < d.T && kj < d.T ? __expf(s[r][c] * d.scale - L[r]) : 0.0f;
        dSs[(4 * rg + r) * pld + cg + 16 * c] = p * (dp[r][c] - D[r]);
      }
    }
    __syncthreads();
    accumulate_product<kTc, dh, U, ld>(acc, Vs, dSs, Ks, rg, cg);  // V is done with: its tile takes dS·K
  }
#pragma unroll
  for (int r = 0; r < 4; ++r) {
    const int64_t qi = i0 + 4 * rg + r;
    if (qi >= d.T) continue;
#pragma unroll
    for (int u = 0; u < U; ++u) dq[(bh * d.T + qi) * dh + cg + 16 * u] = d.scale * acc[r][u];
  }
}

template <int U, bool kTc = false>
constexpr size_t grad_kv_smem() {
  return ((kTc ? 5 : 4) * kTile * row_ld<kTc>(16 * U) + 2 * kTile * score_ld<kTc>() + 2 * kTile) * sizeof(float);
}

// dk and dv of one 64-key tile of one key head: over every query head of its group and every
// query tile at or after it, dv += Pᵀ·dO and dk += scale · dSᵀ·Q.
template <int U, bool kTc = false>
__global__ void __launch_bounds__(kThreads) grad_kv(const float* q, const float* k, const float* v, const float* lse, const float* dO,
                                                    const float* delta, float* dk, float* dv, Dims d) {
  constexpr int dh = 16 * U, ld = row_ld<kTc>(dh), pld = score_ld<kTc>();
  extern __shared__ __align__(128) float sm[];
  float *Ks = sm, *Vs = Ks + kTile * ld, *Qs = Vs + kTile * ld, *dOs = Qs + kTile * ld;
  float *Ps = dOs + kTile * ld, *dSs = Ps + kTile * pld, *Ls = dSs + kTile * pld, *Ds = Ls + kTile;
  float* out_s = Ds + kTile;  // kTc only: a [64, dh] tile for the products' results
  const int rg = threadIdx.x >> 4, cg = threadIdx.x & 15;
  const int64_t j0 = int64_t(blockIdx.x) * kTile, bkv = blockIdx.y;
  const int64_t b = bkv / d.KV, kvh = bkv % d.KV, group = d.H / d.KV;
  load<kTc>(Ks, k + bkv * d.T * dh, j0, d.T, dh, ld);
  load<kTc>(Vs, v + bkv * d.T * dh, j0, d.T, dh, ld);
  tiles_landed<kTc>();
  float accK[4][U], accV[4][U];
#pragma unroll
  for (int r = 0; r < 4; ++r)
#pragma unroll
    for (int u = 0; u < U; ++u) accK[r][u] = accV[r][u] = 0.0f;
  for (int64_t g = 0; g < group; ++g) {
    const int64_t bh = b * d.H + kvh * group + g;
    for (int64_t i0 = j0; i0 < d.T; i0 += kTile) {
      __syncthreads();
      load<kTc>(Qs, q + bh * d.T * dh, i0, d.T, dh, ld);
      load<kTc>(dOs, dO + bh * d.T * dh, i0, d.T, dh, ld);
      tiles_landed<kTc>();
      if (threadIdx.x < kTile) {
        const int64_t qi = i0 + threadIdx.x;
        Ls[threadIdx.x] = qi < d.T ? lse[bh * d.T + qi] : 0.0f;
        Ds[threadIdx.x] = qi < d.T ? delta[bh * d.T + qi] : 0.0f;
      }
      __syncthreads();
      float s[4][4], dp[4][4];
      if constexpr (kTc) {
        tc::scores<dh>(Ps, Ks, Qs);  // rows: keys, columns: queries
        tc::scores<dh>(dSs, Vs, dOs);
        __syncthreads();
        read_scores<pld>(s, Ps, rg, cg);
        read_scores<pld>(dp, dSs, rg, cg);
      } else {
        tile_dot<U>(s, Ks, Qs, rg, cg);  // rows: keys, columns: queries
        tile_dot<U>(dp, Vs, dOs, rg, cg);
      }
#pragma unroll
      for (int r = 0; r < 4; ++r) {
        const int64_t kj = j0 + 4 * rg + r;
#pragma unroll
        for (int c = 0; c < 4; ++c) {
          const int qc = cg + 16 * c;
          const int64_t qi = i0 + qc;
          const float p = qi >= kj && qi < d.T && kj < d.T ? __expf(s[r][c] * d.scale - Ls[qc]) : 0.0f;
          Ps[(4 * rg + r) * pld + qc] = p;
          dSs[(4 * rg + r) * pld + qc] = p * (dp[r][c] - Ds[qc]);
        }
      }
      __syncthreads();
      accumulate_product<kTc, dh, U, ld>(accV, out_s, Ps, dOs, rg, cg);
      if constexpr (kTc) __syncthreads();  // out_s is read before it takes the next product
      accumulate_product<kTc, dh, U, ld>(accK, out_s, dSs, Qs, rg, cg);
    }
  }
#pragma unroll
  for (int r = 0; r < 4; ++r) {
    const int64_t kj = j0 + 4 * rg + r;
    if (kj >= d.T) continue;
#pragma unroll
    for (int u = 0; u < U; ++u) {
      dk[(bkv * d.T + kj) * dh + cg + 16 * u] = d.scale * accK[r][u];
      dv[(bkv * d.T + kj) * dh + cg + 16 * u] = accV[r][u];
    }
  }
}

}  // namespace alto::cuda::attention_tiled
