// Causal attention with grouped-query heads, f32, without a T × T matrix in memory: one warp
// per query row walks its keys 32 at a time (a lane per key for the scores, a lane per output
// column for the weighted sum) with a running max and sum (online softmax). The backward
// recomputes the probabilities from the forward's log-sum-exp: one warp per query row for dq
// (and the row's dO·O), one warp per key row for dk and dv, so no gradient is added twice
// and no atomics are needed.
//
// Layouts: q, o, dq, dO [B, H, T, dh]; k, v, dk, dv [B, KV, T, dh]; query head h reads key
// head h / (H / KV). Example: B 1, H 4, KV 2, T 3 → heads 0 and 1 use key head 0; row i of a
// head attends to keys 0..i.
#include <cstdint>
#include <initializer_list>
#include <type_traits>

#include "attention_mma.cuh"
#include "attention_tiled.cuh"
#include "engine_impl.h"

using namespace alto::cuda;

namespace {

constexpr int kWarps = 4, kMaxPerLane = 8;  // head dim ≤ 256

__device__ __forceinline__ float warp_max(float v) { return alto::cuda::attention_tiled::group_max<32>(v); }
__device__ __forceinline__ float warp_sum(float v) { return alto::cuda::attention_tiled::group_sum<32>(v); }
__device__ __forceinline__ float dot(const float* a, const float* b, int dh) {
  float s = 0.0f;
  for (int c = 0; c < dh; ++c) s = fmaf(a[c], b[c], s);
  return s;
}

// acc[u] (column lane + 32u) += Σ_{t < count} w_t · rows[t][column], where lane t holds w_t.
__device__ __forceinline__ void add_weighted_rows(float (&acc)[kMaxPerLane], float w, const float* rows, int count, int64_t dh) {
  const int lane = threadIdx.x & 31;
  for (int t = 0; t < count; ++t) {
    const float wt = __shfl_sync(0xffffffffu, w, t);
    for (int u = 0; u < kMaxPerLane; ++u) {
      const int64_t c = lane + 32 * u;
      if (c < dh) acc[u] = fmaf(wt, rows[t * dh + c], acc[u]);
    }
  }
}

struct Dims {
  int64_t B, H, KV, T, dh;
  float scale;
};

// o[i] = Σ_j softmax_j(scale·q_i·k_j) v_j over j ≤ i; lse[i] = the log of the softmax's sum,
// including the max.
__global__ void __launch_bounds__(32 * kWarps) attention_forward(const float* q, const float* k, const float* v, float* o, float* lse, Dims d) {
  const int lane = threadIdx.x & 31;
  const int64_t i = blockIdx.x * int64_t(kWarps) + (threadIdx.x >> 5), bh = blockIdx.y;
  if (i >= d.T) return;
  const int64_t b = bh / d.H, h = bh % d.H, kvh = b * d.KV + h / (d.H / d.KV);
  const float* qi = q + (bh * d.T + i) * d.dh;
  const float* kb = k + kvh * d.T * d.dh;
  const float* vb = v + kvh * d.T * d.dh;
  float acc[kMaxPerLane] = {};
  float m = -INFINITY, l = 0.0f;
  for (int64_t j0 = 0; j0 <= i; j0 += 32) {
    const int64_t j = j0 + lane;
    const float s = j <= i ? d.scale * dot(qi, kb + j * d.dh, static_cast<int>(d.dh)) : -INFINITY;
    const float m_new = fmaxf(m, warp_max(s));
    const float p = j <= i ? expf(s - m_new) : 0.0f, rescale = expf(m - m_new);
    l = l * rescale + warp_sum(p);
    for (int u = 0; u < kMaxPerLane; ++u) acc[u] *= rescale;
    add_weighted_rows(acc, p, vb + j0 * d.dh, static_cast<int>(i - j0 + 1 < 32 ? i - j0 + 1 : 32), d.dh);
    m = m_new;
  }
  float* oi = o + (bh * d.T + i) * d.dh;
  for (int u = 0; u < kMaxPerLane; ++u) {
    const int64_t c = lane + 32 * u;
    if (c < d.dh) oi[c] = acc[u] / l;
  }
  if (lane == 0) lse[bh * d.T + i] = m + logf(l);
}

// Per query row: delta = dO_i·o_i, then dq_i = scale·Σ_j p_ij (dO_i·v_j − delta) k_j.
__global__ void __launch_bounds__(32 * kWarps) attention_grad_q(const float* q, const float* k, const float* v, const float* o, const float* lse,
                                                                const float* dO, float* dq, float* delta, Dims d) {
  const int lane = threadIdx.x & 31;
  const int64_t i = blockIdx.x * int64_t(kWarps) + (threadIdx.x >> 5), bh = blockIdx.y;
  if (i >= d.T) return;
  const int64_t b = bh / d.H, h = bh % d.H, kvh = b * d.KV + h / (d.H / d.KV), row = bh * d.T + i;
  const float* qi = q + row * d.dh;
  const float* doi = dO + row * d.dh;
  const float* kb = k + kvh * d.T * d.dh;
  const float* vb = v + kvh * d.T * d.dh;
  float part = 0.0f;
  for (int64_t c = lane; c < d.dh; c += 32) part = fmaf(doi[c], o[row * d.dh + c], part);
  const float di = warp_sum(part), li = lse[row];
  if (lane == 0) delta[row] = di;
  float acc[kMaxPerLane] = {};
  for (int64_t j0 = 0; j0 <= i; j0 += 32) {
    const int64_t j = j0 + lane;
    float ds = 0.0f;
    if (j <= i) {
      const float p = expf(d.scale * dot(qi, kb + j * d.dh, static_cast<int>(d.dh)) - li);
      ds = p * (dot(doi, vb + j * d.dh, static_cast<int>(d.dh)) - di);
    }
    add_weighted_rows(acc, ds, kb + j0 * d.dh, static_cast<int>(i - j0 + 1 < 32 ? i - j0 + 1 : 32), d.dh);
  }
  for (int u = 0; u < kMaxPerLane; ++u) {
    const int64_t c = lane + 32 * u;
    if (c < d.dh) dq[row * d.dh + c] = d.scale * acc[u];
  }
}

// Per key row j of key head kvh: over every query head of its group and every query i ≥ j,
// dv_j = Σ p_ij dO_i and dk_j = scale·Σ p_ij (dO_i·v_j − delta_i) q_i.
__global__ void __launch_bounds__(32 * kWarps) attention_grad_kv(const float* q, const float* k, const float* v, const float* lse, const float* dO,
                                                                 const float* delta, float* dk, float* dv, Dims d) {
  const int lane = threadIdx.x & 31;
  const int64_t j = blockIdx.x * int64_t(kWarps) + (threadIdx.x >> 5), bkv = blockIdx.y;
  if (j >= d.T) return;
  const int64_t b = bkv / d.KV, kvh = bkv % d.KV, group = d.H / d.KV;
  const float* kj = k + (bkv * d.T + j) * d.dh;
  const float* vj = v + (bkv * d.T + j) * d.dh;
  float acc_k[kMaxPerLane] = {}, acc_v[kMaxPerLane] = {};
  for (int64_t g = 0; g < group; ++g) {
    const int64_t bh = b * d.H + kvh * group + g;
    for (int64_t i0 = j; i0 < d.T; i0 += 32) {
      const int64_t i = i0 + lane, row = bh * d.T + i;
      float p = 0.0f, ds = 0.0f;
      if (i < d.T) {
        p = expf(d.scale * dot(q + row * d.dh, kj, static_cast<int>(d.dh)) - lse[row]);
        ds = p * (dot(dO + row * d.dh, vj, static_cast<int>(d.dh)) - delta[row]);
      }
      const int queries = static_cast<int>(d.T - i0 < 32 ? d.T - i0 : 32);
      add_weighted_rows(acc_v, p, dO + (bh * d.T + i0) * d.dh, queries, d.dh);
      add_weighted_rows(acc_k, ds, q + (bh * d.T + i0) * d.dh, queries, d.dh);
    }
  }
  for (int u = 0; u < kMaxPerLane; ++u) {
    const int64_t c = lane + 32 * u;
    if (c < d.dh) {
      dk[(bkv * d.T + j) * d.dh + c] = d.scale * acc_k[u];
      dv[(bkv * d.T + j) * d.dh + c] = acc_v[u];
    }
  }
}

// delta_i = dO_i · o_i per query row, one warp per row (the tiled backward reads it).
__global__ void __launch_bounds__(32 * kWarps) attention_delta(const float* o, const float* dO, float* delta, int64_t rows, int64_t dh) {
  const int lane = threadIdx.x & 31;
  const int64_t row = blockIdx.x * int64_t(kWarps) + (threadIdx.x >> 5);
  if (row >= rows) return;
  float part = 0.0f;
  for (int64_t c = lane; c < dh; c += 32) part = fmaf(dO[row * dh + c], o[row * dh + c], part);
  part = warp_sum(part);
  if (lane == 0) delta[row] = part;
}

namespace tiled = alto::cuda::attention_tiled;

// Head dims 16, 32, …, 128 take the tiled kernels; the others the per-row ones above.
bool use_tiled(int64_t dh) { return dh % 16 == 0 && dh >= 16 && dh <= 128; }

// The tensor-core kernels copy rows 16 bytes at a time: every matrix must start 16-byte aligned.
bool aligned16(std::initializer_list<const float*> ptrs) {
  for (const float* p : ptrs)
    if (reinterpret_cast<uintptr_t>(p) % 16 != 0) return false;
  return true;
}

template <typename Kernel>
cudaError_t allow_smem(Kernel kernel, size_t bytes) {
  return bytes > 48 * 1024 ? cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(bytes)) : cudaSuccess;
}

template <int U, bool kTc>
cudaError_t tiled_forward(cudaStream_t stream, const float* q, const float* k, const float* v, float* o, float* lse, const tiled::Dims& d) {
  constexpr size_t smem = tiled::forward_smem<U, kTc>();
  if (cudaError_t err = allow_smem(tiled::forward<U, kTc>, smem); err != cudaSuccess) return err;
  const dim3 grid(static_cast<unsigned>((d.T + tiled::kTile - 1) / tiled::kTile), static_cast<unsigned>(d.B * d.H));
  tiled::forward<U, kTc><<<grid, tiled::kThreads, smem, stream>>>(q, k, v, o, lse, d);
  return cudaGetLastError();
}

template <int U, bool kTc>
cudaError_t tiled_grad(cudaStream_t stream, const float* q, const float* k, const float* v, const float* lse, const float* dO, const float* delta,
                       float* dq, float* dk, float* dv, const tiled::Dims& d) {
  constexpr size_t smem_q = tiled::grad_q_smem<U, kTc>(), smem_kv = tiled::grad_kv_smem<U, kTc>();
  if (cudaError_t err = allow_smem(tiled::grad_q<U, kTc>, smem_q); err != cudaSuccess) return err;
  if (cudaError_t err = allow_smem(tiled::grad_kv<U, kTc>, smem_kv); err != cudaSuccess) return err;
  const unsigned tiles = static_cast<unsigned>((d.T + tiled::kTile - 1) / tiled::kTile);
  tiled::grad_q<U, kTc><<<dim3(tiles, static_cast<unsigned>(d.B * d.H)), tiled::kThreads, smem_q, stream>>>(q, k, v, lse, dO, delta, dq, d);
  tiled::grad_kv<U, kTc><<<dim3(tiles, static_cast<unsigned>(d.B * d.KV)), tiled::kThreads, smem_kv, stream>>>(q, k, v, lse, dO, delta, dk, dv, d);
  return cudaGetLastError();
}

namespace mmak = alto::cuda::attention_mma;

// Head dim 64 with TF32 products: the register-fragment kernels (attention_mma.cuh).
bool use_mma(int64_t dh, int32_t tf32, std::initializer_list<const float*> ptrs) { return tf32 && dh == mmak::kD && aligned16(ptrs); }

cudaError_t mma_forward(cudaStream_t stream, const float* q, const float* k, const float* v, float* o, float* lse, const tiled::Dims& d) {
  if (cudaError_t err = allow_smem(mmak::forward, mmak::forward_smem()); err != cudaSuccess) return err;
  const dim3 grid(static_cast<unsigned>((d.T + mmak::kRows - 1) / mmak::kRows), static_cast<unsigned>(d.B * d.H));
  mmak::forward<<<grid, mmak::kThreads, mmak::forward_smem(), stream>>>(q, k, v, o, lse, d);
  return cudaGetLastError();
}

cudaError_t mma_grad(cudaStream_t stream, const float* q, const float* k, const float* v, const float* lse, const float* dO, const float* delta,
                     float* dq, float* dk, float* dv, const tiled::Dims& d) {
  if (cudaError_t err = allow_smem(mmak::grad_q, mmak::grad_q_smem()); err != cudaSuccess) return err;
  if (cudaError_t err = allow_smem(mmak::grad_kv, mmak::grad_kv_smem()); err != cudaSuccess) return err;
  const unsigned tiles = static_cast<unsigned>((d.T + mmak::kRows - 1) / mmak::kRows);
  mmak::grad_q<<<dim3(tiles, static_cast<unsigned>(d.B * d.H)), mmak::kThreads, mmak::grad_q_smem(), stream>>>(q, k, v, lse, dO, delta, dq, d);
  mmak::grad_kv<<<dim3(tiles, static_cast<unsigned>(d.B * d.KV)), mmak::kThreads, mmak::grad_kv_smem(), stream>>>(q, k, v, lse, dO, delta, dk, dv, d);
  return cudaGetLastError();
}

// Calls f<U>() for U = dh / 16 (U in 1..8).
template <typename F>
cudaError_t by_units(int64_t dh, F&& f) {
  switch (dh / 16) {
    case 1: return f(std::integral_constant<int, 1>{});
    case 2: return f(std::integral_constant<int, 2>{});
    case 3: return f(std::integral_constant<int, 3>{});
    case 4: return f(std::integral_constant<int, 4>{});
    case 5: return f(std::integral_constant<int, 5>{});
    case 6: return f(std::integral_constant<int, 6>{});
    case 7: return f(std::integral_constant<int, 7>{});
    default: return f(std::integral_constant<int, 8>{});
  }
}

alto_status check_dims(alto_engine* e, const Dims& d) {
  if (d.B < 0 || d.T < 0 || d.H < 1 || d.KV < 1 || d.H % d.KV != 0 || d.dh < 1 || d.dh > 32 * kMaxPerLane || d.B * d.H > 65535) {
    return engine_invalid(e, "attention: needs H a multiple of KV, 1 <= head dim <= 256, batch x heads <= 65535");
  }
  return ALTO_OK;
}

}  // namespace

extern "C" alto_status alto_engine_attention(alto_engine* e, const float* q, const float* k, const float* v, float* o, float* lse, int64_t batch,
                                             int64_t heads, int64_t kv_heads, int64_t seq, int64_t head_dim, float scale, int32_t tf32) {
  if (alto_status st = engine_enter(e); st != ALTO_OK) return st;
  const Dims d{batch, heads, kv_heads, seq, head_dim, scale};
  if (alto_status st = check_dims(e, d); st != ALTO_OK) return st;
  if (batch == 0 || seq == 0) return ALTO_OK;
  if (use_mma(head_dim, tf32, {q, k, v, o})) {
    return engine_status(e, mma_forward(e->stream, q, k, v, o, lse, tiled::Dims{batch, heads, kv_heads, seq, head_dim, scale}), "attention");
  }
  if (use_tiled(head_dim)) {
    const tiled::Dims t{batch, heads, kv_heads, seq, head_dim, scale};
    const bool tc = tf32 && aligned16({q, k, v});
    const cudaError_t err = by_units(head_dim, [&](auto u) {
      constexpr int U = decltype(u)::value;
      return tc ? tiled_forward<U, true>(e->stream, q, k, v, o, lse, t) : tiled_forward<U, false>(e->stream, q, k, v, o, lse, t);
    });
    return engine_status(e, err, "attention");
  }
  const dim3 grid(static_cast<unsigned>((seq + kWarps - 1) / kWarps), static_cast<unsigned>(batch * heads));
  attention_forward<<<grid, 32 * kWarps, 0, e->stream>>>(q, k, v, o, lse, d);
  return engine_status(e, cudaGetLastError(), "attention");
}

extern "C" alto_status alto_engine_attention_grad(alto_engine* e, const float* q, const float* k, const float* v, const float* o, const float* lse,
                                                  const float* dO, float* dq, float* dk, float* dv, int64_t batch, int64_t heads,
                                                  int64_t kv_heads, int64_t seq, int64_t head_dim, float scale, int32_t tf32) {
  if (alto_status st = engine_enter(e); st != ALTO_OK) return st;
  const Dims d{batch, heads, kv_heads, seq, head_dim, scale};
  if (alto_status st = check_dims(e, d); st != ALTO_OK) return st;
  if (batch == 0 || seq == 0) return ALTO_OK;
  void* delta = nullptr;  // dO·O per query row, from the pool (freed in stream order)
  cudaError_t err = e->pool->alloc(static_cast<size_t>(batch * heads * seq) * sizeof(float), &delta);
  if (err != cudaSuccess) return engine_status(e, err, "attention_grad (workspace)");
  if (use_tiled(head_dim)) {
    const int64_t rows = batch * heads * seq;
    attention_delta<<<static_cast<unsigned>((rows + kWarps - 1) / kWarps), 32 * kWarps, 0, e->stream>>>(o, dO, static_cast<float*>(delta), rows, head_dim);
    const tiled::Dims t{batch, heads, kv_heads, seq, head_dim, scale};
    auto* dl = static_cast<float*>(delta);
    const bool tc = tf32 && aligned16({q, k, v, dO});
    if (use_mma(head_dim, tf32, {q, k, v, dO, dq, dk, dv})) {
      err = mma_grad(e->stream, q, k, v, lse, dO, dl, dq, dk, dv, t);
    } else {
      err = by_units(head_dim, [&](auto u) {
        constexpr int U = decltype(u)::value;
        return tc ? tiled_grad<U, true>(e->stream, q, k, v, lse, dO, dl, dq, dk, dv, t)
                  : tiled_grad<U, false>(e->stream, q, k, v, lse, dO, dl, dq, dk, dv, t);
      });
    }
    if (err == cudaSuccess) err = cudaGetLastError();
    e->pool->free(delta);
    return engine_status(e, err, "attention_grad");
  }
  const unsigned rows = static_cast<unsigned>((seq + kWarps - 1) / kWarps);
  attention_grad_q<<<dim3(rows, static_cast<unsigned>(batch * heads)), 32 * kWarps, 0, e->stream>>>(q, k, v, o, lse, dO, dq,
                                                                                                  static_cast<float*>(delta), d);
  attention_grad_kv<<<dim3(rows, static_cast<unsigned>(batch * kv_heads)), 32 * kWarps, 0, e->stream>>>(q, k, v, lse, dO,
                                                                                                       static_cast<float*>(delta), dk, dv, d);
  err = cudaGetLastError();
  e->pool->free(delta);
  return engine_status(e, err, "attention_grad");
}
