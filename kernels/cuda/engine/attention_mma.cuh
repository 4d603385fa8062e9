// Causal attention on the tensor cores with the tiles' products in registers (mma.sync m16n8k8,
// TF32 inputs rounded to nearest, fp32 sums), head dim 64: the softmax, its rescaling and the
// gradient's elementwise terms run on the products' own fragments, and a probability tile goes
// from a product's result to the next product's input by shuffles within each quad of lanes —
// no tile of scores or probabilities passes through shared memory (the WMMA kernels of
// attention_tiled.cuh stage every product there).
//
// Blocks of 4 warps own 64 rows (queries in the forward and dq, keys in dk/dv); warp w owns rows
// 16w..16w+15 and holds them as A fragments. The other side's 64-row tiles stream through shared
// memory (cp.async, rows padded to 68 floats: lanes (g, t) reading rows g at column t, or rows t
// at column g, hit 32 different banks). Fragment layouts as mma.cuh (g = lane / 4, t = lane % 4):
//   A 16×8: a0 (g, t) a1 (g+8, t) a2 (g, t+4) a3 (g+8, t+4);  B 8×8: b0 (k t, n g) b1 (k t+4, n g);
//   C 16×8: c0 (g, 2t) c1 (g, 2t+1) c2 (g+8, 2t) c3 (g+8, 2t+1).
// A 16 × 64 result is C fragments c[n] for its eight 8-column blocks; as the A operand of the
// next product, column block n is k-step n: a0 = (g, t) sits in lane (g, t/2) as c[n][t % 2],
// a2 = (g, t + 4) in lane (g, 2 + t/2) — two shuffles per pair of values (to_a below).
//
// Example: T = 100, one head. Forward block 1 owns queries 64..127 (rows past 99 are computed on
// zeros and not stored); it walks key tiles 0 (no mask) and 1 (keys 64..127: masked where key >
// query or key ≥ 100). Its warp 2 owns queries 96..111; lane 5 (g 1, t 1) holds queries 97 and
// 105, and for key tile 1 the scores of keys 64 + 8n + 2 and + 3, n = 0..7.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

#include "../mma.cuh"
#include "attention_tiled.cuh"

namespace alto::cuda::attention_mma {

constexpr int kD = 64, kRows = 64, kWarps = 4, kThreads = 32 * kWarps, kLd = kD + 4, kSteps = kD / 8, kBlocks = kRows / 8;
constexpr size_t kTileFloats = size_t(kRows) * kLd;
using attention_tiled::Dims;

__device__ __forceinline__ uint32_t tf32(float x) {
  uint32_t r;
  asm("cvt.rna.tf32.f32 %0, %1;\n" : "=r"(r) : "f"(x));
  return r;
}

// Rows [row0, row0 + 64) of a [T, 64] matrix into s (stride kLd), zeros past T: 16-byte copies,
// one commit group. The launcher checks 16-byte alignment.
__device__ __forceinline__ void load_tile(float* s, const float* g, int64_t row0, int64_t T) {
  for (int i = threadIdx.x; i < kRows * (kD / 4); i += kThreads) {
    const int r = i / (kD / 4), c = (i % (kD / 4)) * 4;
    const bool inside = row0 + r < T;
    const float* src = inside ? g + (row0 + r) * kD + c : g;
    const unsigned dst = static_cast<unsigned>(__cvta_generic_to_shared(s + r * kLd + c));
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(src), "r"(inside ? 16 : 0));
  }
  asm volatile("cp.async.commit_group;\n" ::);
}
template <int kPending>
__device__ __forceinline__ void wait_tiles() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(kPending));
  __syncthreads();
}

// This warp's 16 rows of a tile in shared memory as A fragments, k-step by k-step.
__device__ __forceinline__ void rows_as_a(uint32_t (&a)[kSteps][4], const float* s) {
  const int lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
  const float* r0 = s + ((threadIdx.x >> 5) * 16 + g) * kLd + t;
  const float* r1 = r0 + 8 * kLd;
#pragma unroll
  for (int k = 0; k < kSteps; ++k) {
    a[k][0] = tf32(r0[8 * k]);
    a[k][1] = tf32(r1[8 * k]);
    a[k][2] = tf32(r0[8 * k + 4]);
    a[k][3] = tf32(r1[8 * k + 4]);
  }
}

// c[n] = rows · tileᵀ for the tile's 64 rows (column block n: tile rows 8n..8n+7), the product
// over the 64 columns of both.
__device__ __forceinline__ void products_with_rows(float (&c)[kBlocks][4], const uint32_t (&a)[kSteps][4], const float* tile) {
  const int lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
#pragma unroll
  for (int n = 0; n < kBlocks; ++n) {
    c[n][0] = c[n][1] = c[n][2] = c[n][3] = 0.0f;
    const float* row = tile + (8 * n + g) * kLd + t;
#pragma unroll
    for (int k = 0; k < kSteps; ++k) mma::mma_tf32(c[n], a[k], tf32(row[8 * k]), tf32(row[8 * k + 4]));
  }
}

// acc += p · tile, p a 16 × 64 operand (k-step k: tile rows 8k..8k+7), acc 16 × 64 (column
// block n: tile columns 8n..8n+7).
__device__ __forceinline__ void accumulate(float (&acc)[kSteps][4], const uint32_t (&p)[kBlocks][4], const float* tile) {
  const int lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
#pragma unroll
  for (int k = 0; k < kBlocks; ++k) {
    const float* r0 = tile + (8 * k + t) * kLd + g;
    const float* r1 = r0 + 4 * kLd;
#pragma unroll
    for (int n = 0; n < kSteps; ++n) mma::mma_tf32(acc[n], p[k], tf32(r0[8 * n]), tf32(r1[8 * n]));
  }
}

// A 16 × 64 product result (C fragments) as the A operand of the next product (see the top).
__device__ __forceinline__ void to_a(uint32_t (&a)[kBlocks][4], const float (&c)[kBlocks][4]) {
  const int lane = threadIdx.x & 31, t = lane & 3;
  const int lo = (lane & ~3) | (t >> 1), hi = lo + 2;
  const bool odd = t & 1;
#pragma unroll
  for (int n = 0; n < kBlocks; ++n) {
    const float x0 = __shfl_sync(0xffffffffu, c[n][0], lo), x1 = __shfl_sync(0xffffffffu, c[n][1], lo);
    const float y0 = __shfl_sync(0xffffffffu, c[n][2], lo), y1 = __shfl_sync(0xffffffffu, c[n][3], lo);
    const float z0 = __shfl_sync(0xffffffffu, c[n][0], hi), z1 = __shfl_sync(0xffffffffu, c[n][1], hi);
    const float w0 = __shfl_sync(0xffffffffu, c[n][2], hi), w1 = __shfl_sync(0xffffffffu, c[n][3], hi);
    a[n][0] = tf32(odd ? x1 : x0);
    a[n][1] = tf32(odd ? y1 : y0);
    a[n][2] = tf32(odd ? z1 : z0);
    a[n][3] = tf32(odd ? w1 : w0);
  }
}

// Max and sum over the quad of lanes that holds one row's 64 columns.
__device__ __forceinline__ float quad_max(float v) {
  v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, 1));
  return fmaxf(v, __shfl_xor_sync(0xffffffffu, v, 2));
}
__device__ __forceinline__ float quad_sum(float v) {
  v += __shfl_xor_sync(0xffffffffu, v, 1);
  return v + __shfl_xor_sync(0xffffffffu, v, 2);
}

// Writes a 16 × 64 accumulator (C fragments, scaled by `scale[half]` per row half) to rows
// row0 + 16·warp + g (+ 8) of a [T, 64] matrix, rows past T skipped.
__device__ __forceinline__ void store_rows(float* out, int64_t row0, int64_t T, const float (&acc)[kSteps][4], float scale0, float scale1) {
  const int lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
  const int64_t r0 = row0 + (threadIdx.x >> 5) * 16 + g, r1 = r0 + 8;
#pragma unroll
  for (int n = 0; n < kSteps; ++n) {
    if (r0 < T) *reinterpret_cast<float2*>(out + r0 * kD + 8 * n + 2 * t) = make_float2(scale0 * acc[n][0], scale0 * acc[n][1]);
    if (r1 < T) *reinterpret_cast<float2*>(out + r1 * kD + 8 * n + 2 * t) = make_float2(scale1 * acc[n][2], scale1 * acc[n][3]);
  }
}

constexpr size_t forward_smem() { return 3 * kTileFloats * sizeof(float); }

// o and lse of one 64-query tile of one head: online softmax over its key tiles.
__global__ void __launch_bounds__(kThreads) forward(const float* q, const float* k, const float* v, float* o, float* lse, Dims d) {
  extern __shared__ __align__(16) float sm[];
  float *Qs = sm, *Ks = Qs + kTileFloats, *Vs = Ks + kTileFloats;
  const int lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
  const int64_t i0 = int64_t(blockIdx.x) * kRows, bh = blockIdx.y;
  const int64_t b = bh / d.H, h = bh % d.H, kvh = b * d.KV + h / (d.H / d.KV);
  const int64_t qi0 = i0 + (threadIdx.x >> 5) * 16 + g, qi1 = qi0 + 8;  // this lane's two query rows
  load_tile(Qs, q + bh * d.T * kD, i0, d.T);
  wait_tiles<0>();
  uint32_t qa[kSteps][4];
  rows_as_a(qa, Qs);
  float acc[kSteps][4] = {}, m0 = -INFINITY, m1 = -INFINITY, l0 = 0.0f, l1 = 0.0f;
  const float* kb = k + kvh * d.T * kD;
  const float* vb = v + kvh * d.T * kD;
  for (int64_t j0 = 0; j0 <= i0 && j0 < d.T; j0 += kRows) {
    __syncthreads();  // the previous tiles are read
    load_tile(Ks, kb, j0, d.T);
    load_tile(Vs, vb, j0, d.T);
    wait_tiles<1>();  // K has landed; V may still be on its way
    float s[kBlocks][4];
    products_with_rows(s, qa, Ks);
    float mx0 = -INFINITY, mx1 = -INFINITY;
#pragma unroll
    for (int n = 0; n < kBlocks; ++n) {
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int64_t key = j0 + 8 * n + 2 * t + (e & 1), query = e < 2 ? qi0 : qi1;
        s[n][e] = key <= query && key < d.T ? s[n][e] * d.scale : -INFINITY;
      }
      mx0 = fmaxf(mx0, fmaxf(s[n][0], s[n][1]));
      mx1 = fmaxf(mx1, fmaxf(s[n][2], s[n][3]));
    }
    const float new0 = fmaxf(m0, quad_max(mx0)), new1 = fmaxf(m1, quad_max(mx1));
    const float base0 = new0 == -INFINITY ? 0.0f : new0, base1 = new1 == -INFINITY ? 0.0f : new1;
    float sum0 = 0.0f, sum1 = 0.0f;
#pragma unroll
    for (int n = 0; n < kBlocks; ++n) {
      s[n][0] = __expf(s[n][0] - base0), s[n][1] = __expf(s[n][1] - base0);
      s[n][2] = __expf(s[n][2] - base1), s[n][3] = __expf(s[n][3] - base1);
      sum0 += s[n][0] + s[n][1];
      sum1 += s[n][2] + s[n][3];
    }
    const float r0 = __expf(m0 - base0), r1 = __expf(m1 - base1);
    l0 = l0 * r0 + quad_sum(sum0);
    l1 = l1 * r1 + quad_sum(sum1);
    m0 = new0, m1 = new1;
#pragma unroll
    for (int n = 0; n < kSteps; ++n) acc[n][0] *= r0, acc[n][1] *= r0, acc[n][2] *= r1, acc[n][3] *= r1;
    uint32_t p[kBlocks][4];
    to_a(p, s);
    wait_tiles<0>();  // V
    accumulate(acc, p, Vs);
  }
  store_rows(o + bh * d.T * kD, i0, d.T, acc, 1.0f / l0, 1.0f / l1);
  if (t == 0) {
    if (qi0 < d.T) lse[bh * d.T + qi0] = m0 + logf(l0);
    if (qi1 < d.T) lse[bh * d.T + qi1] = m1 + logf(l1);
  }
}

constexpr size_t grad_q_smem() { return 4 * kTileFloats * sizeof(float); }

// dq of one 64-query tile: Σ over its key tiles of scale · dS · K, dS = P ∘ (dO·Vᵀ − delta).
__global__ void __launch_bounds__(kThreads) grad_q(const float* q, const float* k, const float* v, const float* lse, const float* dO,
                                                   const float* delta, float* dq, Dims d) {
  extern __shared__ __align__(16) float sm[];
  float *Qs = sm, *dOs = Qs + kTileFloats, *Ks = dOs + kTileFloats, *Vs = Ks + kTileFloats;
  const int lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
  const int64_t i0 = int64_t(blockIdx.x) * kRows, bh = blockIdx.y;
  const int64_t b = bh / d.H, h = bh % d.H, kvh = b * d.KV + h / (d.H / d.KV);
  const int64_t qi0 = i0 + (threadIdx.x >> 5) * 16 + g, qi1 = qi0 + 8;
  load_tile(Qs, q + bh * d.T * kD, i0, d.T);
  load_tile(dOs, dO + bh * d.T * kD, i0, d.T);
  wait_tiles<0>();
  const float L0 = qi0 < d.T ? lse[bh * d.T + qi0] : 0.0f, L1 = qi1 < d.T ? lse[bh * d.T + qi1] : 0.0f;
  const float D0 = qi0 < d.T ? delta[bh * d.T + qi0] : 0.0f, D1 = qi1 < d.T ? delta[bh * d.T + qi1] : 0.0f;
  float acc[kSteps][4] = {};
  const float* kb = k + kvh * d.T * kD;
  const float* vb = v + kvh * d.T * kD;
  for (int64_t j0 = 0; j0 <= i0 && j0 < d.T; j0 += kRows) {
    __syncthreads();
    load_tile(Ks, kb, j0, d.T);
    load_tile(Vs, vb, j0, d.T);
    wait_tiles<0>();
    // The warp's Q and dO rows as A fragments, reloaded from shared memory for each key tile
    // (held across the loop they would take 64 more registers).
    float s[kBlocks][4], dp[kBlocks][4];
    uint32_t ra[kSteps][4];
    rows_as_a(ra, Qs);
    products_with_rows(s, ra, Ks);
    rows_as_a(ra, dOs);
    products_with_rows(dp, ra, Vs);
#pragma unroll
    for (int n = 0; n < kBlocks; ++n) {
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int64_t key = j0 + 8 * n + 2 * t + (e & 1), query = e < 2 ? qi0 : qi1;
        const float p = key <= query && key < d.T && query < d.T ? __expf(s[n][e] * d.scale - (e < 2 ? L0 : L1)) : 0.0f;
        s[n][e] = p * (dp[n][e] - (e < 2 ? D0 : D1));
      }
    }
    uint32_t ds[kBlocks][4];
    to_a(ds, s);
    accumulate(acc, ds, Ks);
  }
  store_rows(dq + bh * d.T * kD, i0, d.T, acc, d.scale, d.scale);
}

constexpr size_t grad_kv_smem() { return (4 * kTileFloats + 2 * kRows) * sizeof(float); }

// dk and dv of one 64-key tile of one key head: over every query head of its group and every
// query tile at or after it, dv += Pᵀ·dO and dk += scale · dSᵀ·Q (rows: keys, columns: queries).
__global__ void __launch_bounds__(kThreads) grad_kv(const float* q, const float* k, const float* v, const float* lse, const float* dO,
                                                    const float* delta, float* dk, float* dv, Dims d) {
  extern __shared__ __align__(16) float sm[];
  float *Ks = sm, *Vs = Ks + kTileFloats, *Qs = Vs + kTileFloats, *dOs = Qs + kTileFloats, *Ls = dOs + kTileFloats, *Ds = Ls + kRows;
  const int lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
  const int64_t j0 = int64_t(blockIdx.x) * kRows, bkv = blockIdx.y;
  const int64_t b = bkv / d.KV, kvh = bkv % d.KV, group = d.H / d.KV;
  const int64_t kj0 = j0 + (threadIdx.x >> 5) * 16 + g, kj1 = kj0 + 8;  // this lane's two key rows
  load_tile(Ks, k + bkv * d.T * kD, j0, d.T);
  load_tile(Vs, v + bkv * d.T * kD, j0, d.T);
  float accK[kSteps][4] = {}, accV[kSteps][4] = {};
  for (int64_t gh = 0; gh < group; ++gh) {
    const int64_t bh = b * d.H + kvh * group + gh;
    for (int64_t i0 = j0; i0 < d.T; i0 += kRows) {
      __syncthreads();  // the previous tiles are read
      load_tile(Qs, q + bh * d.T * kD, i0, d.T);
      load_tile(dOs, dO + bh * d.T * kD, i0, d.T);
      if (threadIdx.x < kRows) {
        const int64_t qi = i0 + threadIdx.x;
        Ls[threadIdx.x] = qi < d.T ? lse[bh * d.T + qi] : 0.0f;
        Ds[threadIdx.x] = qi < d.T ? delta[bh * d.T + qi] : 0.0f;
      }
      wait_tiles<0>();
      // The warp's K and V rows as A fragments, reloaded from shared memory for each query tile.
      float s[kBlocks][4], dp[kBlocks][4];
      uint32_t ra[kSteps][4];
      rows_as_a(ra, Ks);
      products_with_rows(s, ra, Qs);  // Sᵀ: keys × queries
      rows_as_a(ra, Vs);
      products_with_rows(dp, ra, dOs);  // dPᵀ = V·dOᵀ
#pragma unroll
      for (int n = 0; n < kBlocks; ++n) {
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          const int col = 8 * n + 2 * t + (e & 1);
          const int64_t query = i0 + col, key = e < 2 ? kj0 : kj1;
          const float p = query >= key && query < d.T && key < d.T ? __expf(s[n][e] * d.scale - Ls[col]) : 0.0f;
          s[n][e] = p;
          dp[n][e] = p * (dp[n][e] - Ds[col]);
        }
      }
      uint32_t pa[kBlocks][4];
      to_a(pa, s);
      accumulate(accV, pa, dOs);
      to_a(pa, dp);
      accumulate(accK, pa, Qs);
    }
  }
  store_rows(dk + bkv * d.T * kD, j0, d.T, accK, d.scale, d.scale);
  store_rows(dv + bkv * d.T * kD, j0, d.T, accV, 1.0f, 1.0f);
}

}  // namespace alto::cuda::attention_mma
