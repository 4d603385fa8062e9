// Reductions over the last axis of an [outer, inner] view: one block per row (rows taken in
// a grid-stride loop), a block-wide tree over the row's elements.
#include <cfloat>
#include <climits>

#include "engine_impl.h"

using namespace alto::cuda;

namespace {

constexpr int kThreads = 256;

template <typename T>
struct Acc {
  T v;
  int32_t at;  // the index that holds v (argmax / argmin)
};

template <typename T>
__device__ __forceinline__ Acc<T> identity(alto_reduce_op op) {
  switch (op) {
    case ALTO_RED_MAX:
    case ALTO_RED_ARGMAX: return {std::is_same<T, float>::value ? T(-INFINITY) : T(INT_MIN), INT_MAX};
    case ALTO_RED_MIN:
    case ALTO_RED_ARGMIN: return {std::is_same<T, float>::value ? T(INFINITY) : T(INT_MAX), INT_MAX};
    case ALTO_RED_PROD: return {T(1), 0};
    default: return {T(0), 0};
  }
}

// Combines two partial results. max/min: a NaN wins (propagates), ties to the lowest index.
// argmax/argmin: a NaN never wins (tfjs ignores them; a NaN first element is handled by the
// caller), ties to the lowest index.
template <typename T>
__device__ __forceinline__ Acc<T> combine(alto_reduce_op op, Acc<T> x, Acc<T> y) {
  const bool xn = x.v != x.v, yn = y.v != y.v;
  const bool arg = op == ALTO_RED_ARGMAX || op == ALTO_RED_ARGMIN;
  switch (op) {
    case ALTO_RED_MAX:
    case ALTO_RED_ARGMAX:
    case ALTO_RED_MIN:
    case ALTO_RED_ARGMIN: {
      if (xn || yn) {
        if (xn && yn) return x.at < y.at ? x : y;
        return arg ? (xn ? y : x) : (xn ? x : y);
      }
      const bool better = (op == ALTO_RED_MAX || op == ALTO_RED_ARGMAX) ? y.v > x.v : y.v < x.v;
      return (better || (y.v == x.v && y.at < x.at)) ? y : x;
    }
    case ALTO_RED_PROD: return {x.v * y.v, 0};
    default: return {x.v + y.v, 0};
  }
}

template <typename T>
__device__ __forceinline__ T empty_mean() {
  if constexpr (std::is_same<T, float>::value) return NAN;
  return 0;
}

template <typename T>
__global__ void __launch_bounds__(kThreads) reduce_rows(alto_reduce_op op, const T* x, void* y, int64_t outer, int64_t inner) {
  __shared__ Acc<T> part[kThreads / 32];
  for (int64_t row = blockIdx.x; row < outer; row += gridDim.x) {
    const T* src = x + row * inner;
    Acc<T> acc = identity<T>(op);
    for (int64_t i = threadIdx.x; i < inner; i += kThreads) acc = combine(op, acc, Acc<T>{src[i], static_cast<int32_t>(i)});
    for (int off = 16; off > 0; off >>= 1) {
      Acc<T> other{__shfl_down_sync(0xffffffffu, acc.v, off), __shfl_down_sync(0xffffffffu, acc.at, off)};
      acc = combine(op, acc, other);
    }
    if ((threadIdx.x & 31) == 0) part[threadIdx.x >> 5] = acc;
    __syncthreads();
    if (threadIdx.x == 0) {
      for (int w = 1; w < kThreads / 32; ++w) acc = combine(op, acc, part[w]);
      // A NaN first element stays the answer (the sequential definition never replaces it).
      const bool first_nan = inner > 0 && src[0] != src[0];
      if (op == ALTO_RED_ARGMAX || op == ALTO_RED_ARGMIN) static_cast<int32_t*>(y)[row] = inner > 0 && !first_nan && acc.at != INT_MAX ? acc.at : 0;
      else if (op == ALTO_RED_MEAN) static_cast<T*>(y)[row] = inner > 0 ? acc.v / static_cast<T>(inner) : empty_mean<T>();
      else static_cast<T*>(y)[row] = acc.v;
    }
    __syncthreads();
  }
}

}  // namespace

extern "C" alto_status alto_engine_reduce(alto_engine* e, alto_reduce_op op, alto_elem type, const void* x, void* y, int64_t outer, int64_t inner) {
  if (alto_status st = engine_enter(e); st != ALTO_OK) return st;
  if (op < ALTO_RED_SUM || op > ALTO_RED_ARGMIN) return engine_invalid(e, "reduce: unknown op");
  if (outer <= 0) return ALTO_OK;
  const unsigned grid = static_cast<unsigned>(outer < 65535LL * 16 ? outer : 65535LL * 16);
  switch (type) {
    case ALTO_ELEM_F32: reduce_rows<float><<<grid, kThreads, 0, e->stream>>>(op, static_cast<const float*>(x), y, outer, inner); break;
    case ALTO_ELEM_I32: reduce_rows<int32_t><<<grid, kThreads, 0, e->stream>>>(op, static_cast<const int32_t*>(x), y, outer, inner); break;
    default: return engine_invalid(e, "reduce: f32 or i32 only");
  }
  return engine_status(e, cudaGetLastError(), "reduce");
}
