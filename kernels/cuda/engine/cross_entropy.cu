// Token cross-entropy over the last axis, f32: loss[r] = lse[r] − z[r][t[r]] with lse the row's
// log-sum-exp, and its gradient dz[r][j] = (exp(z[r][j] − lse[r]) − [j = t[r]])·dy[r]. One block
// a row. The forward reads the logits once (a running max and a sum rescaled as the max grows),
// the backward reads them once and writes dz once: a language model's logits are the largest
// tensor of a step (rows × vocab), so each pass over them counts. A target outside [0, vocab)
// has no target term (as a one-hot row of zeros would).
#include "engine_impl.h"

using namespace alto::cuda;

namespace {

constexpr int kThreads = 256;

// A partial log-sum-exp: max m and Σ exp(x − m) over the values seen (m = −inf, s = 0: none).
struct MaxSum {
  float m, s;
};

__device__ __forceinline__ MaxSum add_value(MaxSum a, float x) {
  if (x == -INFINITY) return a;  // adds nothing (and −inf − −inf would be NaN)
  if (x > a.m) return {x, a.s * __expf(a.m - x) + 1.0f};  // a.m = −inf: a.s is 0
  return {a.m, a.s + __expf(x - a.m)};                     // NaN x: s becomes NaN, and so lse
}

__device__ __forceinline__ MaxSum merge(MaxSum a, MaxSum b) {
  const float m = fmaxf(a.m, b.m);
  if (m == -INFINITY) return {m, a.s + b.s};
  return {m, a.s * __expf(a.m - m) + b.s * __expf(b.m - m)};
}

__device__ MaxSum block_merge(MaxSum v, MaxSum* scratch) {
  for (int off = 16; off > 0; off >>= 1) v = merge(v, {__shfl_xor_sync(0xffffffffu, v.m, off), __shfl_xor_sync(0xffffffffu, v.s, off)});
  if ((threadIdx.x & 31) == 0) scratch[threadIdx.x >> 5] = v;
  __syncthreads();
  v = scratch[0];
  for (int w = 1; w < kThreads / 32; ++w) v = merge(v, scratch[w]);
  __syncthreads();
  return v;
}

// kVec: rows read as float4 (vocab % 4 = 0 and the logits 16-byte aligned).
template <bool kVec>
__global__ void __launch_bounds__(kThreads) cross_entropy_rows(const float* z, const int32_t* targets, float* loss, float* lse, int64_t rows,
                                                               int64_t vocab) {
  __shared__ MaxSum scratch[kThreads / 32];
  for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    const float* zr = z + row * vocab;
    MaxSum acc{-INFINITY, 0.0f};
    if constexpr (kVec) {
      const float4* z4 = reinterpret_cast<const float4*>(zr);
      for (int64_t i = threadIdx.x; i < vocab / 4; i += kThreads) {
        const float4 v = __ldg(z4 + i);
        acc = add_value(add_value(add_value(add_value(acc, v.x), v.y), v.z), v.w);
      }
    } else {
      for (int64_t i = threadIdx.x; i < vocab; i += kThreads) acc = add_value(acc, __ldg(zr + i));
    }
    acc = block_merge(acc, scratch);
    if (threadIdx.x == 0) {
      const float l = acc.m + __logf(acc.s);
      const int32_t t = targets[row];
      lse[row] = l;
      loss[row] = t >= 0 && t < vocab ? l - zr[t] : l;
    }
  }
}

// dz may be z (in place): each element is read once, then written, by the same thread (no
// read-only cache loads here for that reason).
template <bool kVec>
__global__ void __launch_bounds__(kThreads) cross_entropy_grad_rows(const float* z, const int32_t* targets, const float* lse, const float* dy,
                                                                    float* dz, int64_t rows, int64_t vocab) {
  for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    const float* zr = z + row * vocab;
    float* dr = dz + row * vocab;
    const float l = lse[row], g = dy[row];
    const int64_t t = targets[row];
    if constexpr (kVec) {
      const float4* z4 = reinterpret_cast<const float4*>(zr);
      float4* d4 = reinterpret_cast<float4*>(dr);
      for (int64_t i = threadIdx.x; i < vocab / 4; i += kThreads) {
        const float4 v = z4[i];
        const int64_t j = 4 * i;
        d4[i] = make_float4((__expf(v.x - l) - (j == t)) * g, (__expf(v.y - l) - (j + 1 == t)) * g, (__expf(v.z - l) - (j + 2 == t)) * g,
                            (__expf(v.w - l) - (j + 3 == t)) * g);
      }
    } else {
      for (int64_t j = threadIdx.x; j < vocab; j += kThreads) dr[j] = (__expf(zr[j] - l) - (j == t)) * g;
    }
  }
}

bool vectorised(const void* a, const void* b, int64_t vocab) {
  return vocab % 4 == 0 && reinterpret_cast<uintptr_t>(a) % 16 == 0 && reinterpret_cast<uintptr_t>(b) % 16 == 0;
}

unsigned row_grid(int64_t rows) { return static_cast<unsigned>(rows < 65535LL * 16 ? rows : 65535LL * 16); }

}  // namespace

extern "C" alto_status alto_engine_token_cross_entropy(alto_engine* e, const float* logits, const int32_t* targets, float* loss, float* lse,
                                                       int64_t rows, int64_t vocab) {
  if (alto_status st = engine_enter(e); st != ALTO_OK) return st;
  if (rows < 0 || vocab <= 0) return engine_invalid(e, "token_cross_entropy: rows must be ≥ 0 and vocab > 0");
  if (rows == 0) return ALTO_OK;
  if (vectorised(logits, logits, vocab)) {
    cross_entropy_rows<true><<<row_grid(rows), kThreads, 0, e->stream>>>(logits, targets, loss, lse, rows, vocab);
  } else {
    cross_entropy_rows<false><<<row_grid(rows), kThreads, 0, e->stream>>>(logits, targets, loss, lse, rows, vocab);
  }
  return engine_status(e, cudaGetLastError(), "token_cross_entropy");
}

extern "C" alto_status alto_engine_token_cross_entropy_grad(alto_engine* e, const float* logits, const int32_t* targets, const float* lse,
                                                            const float* dloss, float* dlogits, int64_t rows, int64_t vocab) {
  if (alto_status st = engine_enter(e); st != ALTO_OK) return st;
  if (rows < 0 || vocab <= 0) return engine_invalid(e, "token_cross_entropy_grad: rows must be ≥ 0 and vocab > 0");
  if (rows == 0) return ALTO_OK;
  if (vectorised(logits, dlogits, vocab)) {
    cross_entropy_grad_rows<true><<<row_grid(rows), kThreads, 0, e->stream>>>(logits, targets, lse, dloss, dlogits, rows, vocab);
  } else {
    cross_entropy_grad_rows<false><<<row_grid(rows), kThreads, 0, e->stream>>>(logits, targets, lse, dloss, dlogits, rows, vocab);
  }
  return engine_status(e, cudaGetLastError(), "token_cross_entropy_grad");
}
