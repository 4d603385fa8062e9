// Unary ops (f32; a few on i32; logical not on u8) and binary ops with broadcasting (f32 or i32 operands;
// comparisons and logic write u8). One launch per op; the op is a uniform branch inside.
#include "engine_impl.h"

using namespace alto::cuda;

namespace {

__device__ __forceinline__ float unary(alto_unary_op op, float x, float alpha) {
  switch (op) {
    case ALTO_UN_NEG: return -x;
    case ALTO_UN_ABS: return fabsf(x);
    case ALTO_UN_EXP: return float(exp(double(x)));  // correctly rounded, as tfjs computes it; memory-bound anyway
    case ALTO_UN_LOG: return logf(x);
    case ALTO_UN_SQRT: return sqrtf(x);
    case ALTO_UN_RSQRT: return rsqrtf(x);
    case ALTO_UN_SQUARE: return x * x;
    case ALTO_UN_RECIPROCAL: return 1.0f / x;
    case ALTO_UN_RELU: return x > 0.0f ? x : (x != x ? x : 0.0f);
    case ALTO_UN_SIGMOID: return 1.0f / (1.0f + expf(-x));
    case ALTO_UN_TANH: return tanhf(x);
    case ALTO_UN_SIN: return sinf(x);
    case ALTO_UN_COS: return cosf(x);
    case ALTO_UN_FLOOR: return floorf(x);
    case ALTO_UN_CEIL: return ceilf(x);
    case ALTO_UN_ROUND: return rintf(x);  // halves to even, as tfjs
    case ALTO_UN_SIGN: return x > 0.0f ? 1.0f : (x < 0.0f ? -1.0f : 0.0f);  // NaN → 0, as tfjs
    case ALTO_UN_LOG1P: return log1pf(x);
    case ALTO_UN_EXPM1: return expm1f(x);
    case ALTO_UN_ERF: return erff(x);
    case ALTO_UN_SOFTPLUS: return x > 20.0f ? x : log1pf(expf(x));
    case ALTO_UN_ELU: return x >= 0.0f ? x : expm1f(x);
    case ALTO_UN_RELU6: return fminf(fmaxf(x, 0.0f), 6.0f);
    case ALTO_UN_STEP: return x > 0.0f ? 1.0f : (x != x ? x : alpha);
    case ALTO_UN_LEAKY_RELU: return x >= 0.0f ? x : alpha * x;
    default: return x;
  }
}

__global__ void unary_kernel(alto_unary_op op, const float* x, float* y, int64_t n, float alpha) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) y[i] = unary(op, x[i], alpha);
}

__global__ void unary_i32_kernel(alto_unary_op op, const int32_t* x, int32_t* y, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    const int32_t v = x[i];
    y[i] = op == ALTO_UN_NEG ? -v : op == ALTO_UN_ABS ? (v < 0 ? -v : v) : op == ALTO_UN_SQUARE ? v * v : (v > 0) - (v < 0);
  }
}

__global__ void logical_not_kernel(const uint8_t* x, uint8_t* y, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) y[i] = x[i] ? 0 : 1;
}

template <typename T>
__device__ __forceinline__ T arith(alto_binary_op op, T a, T b) {
  if constexpr (std::is_same<T, float>::value) {
    switch (op) {
      case ALTO_BIN_ADD: return a + b;
      case ALTO_BIN_SUB: return a - b;
      case ALTO_BIN_MUL: return a * b;
      case ALTO_BIN_DIV: return a / b;
      case ALTO_BIN_MAX: return (a != a || b != b) ? NAN : fmaxf(a, b);
      case ALTO_BIN_MIN: return (a != a || b != b) ? NAN : fminf(a, b);
      case ALTO_BIN_POW: return powf(a, b);
      case ALTO_BIN_SQUARED_DIFF: return (a - b) * (a - b);
      case ALTO_BIN_FLOOR_DIV: return floorf(a / b);
      case ALTO_BIN_MOD: {  // the sign of the divisor, as tfjs
        const float r = fmodf(a, b);
        return (r != 0.0f && ((r < 0.0f) != (b < 0.0f))) ? r + b : r;
      }
      case ALTO_BIN_ATAN2: return atan2f(a, b);
      default: return 0.0f;
    }
  } else {
    switch (op) {
      case ALTO_BIN_ADD: return a + b;
      case ALTO_BIN_SUB: return a - b;
      case ALTO_BIN_MUL: return a * b;
      case ALTO_BIN_DIV: return b == 0 ? 0 : a / b;
      case ALTO_BIN_MAX: return a > b ? a : b;
      case ALTO_BIN_MIN: return a < b ? a : b;
      case ALTO_BIN_POW: {
        T r = 1;
        for (T e = b; e > 0; --e) r *= a;
        return r;
      }
      case ALTO_BIN_SQUARED_DIFF: return (a - b) * (a - b);
      case ALTO_BIN_FLOOR_DIV: {
        if (b == 0) return 0;
        T q = a / b;
        if constexpr (std::is_signed<T>::value) return (q * b != a && ((a < 0) != (b < 0))) ? q - 1 : q;
        return q;
      }
      case ALTO_BIN_MOD: {
        if (b == 0) return 0;
        T r = a % b;
        if constexpr (std::is_signed<T>::value) return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r;
        return r;
      }
      default: return 0;
    }
  }
}

template <typename T>
__device__ __forceinline__ uint8_t compare(alto_binary_op op, T a, T b) {
  switch (op) {
    case ALTO_BIN_EQUAL: return a == b;
    case ALTO_BIN_NOT_EQUAL: return a != b;
    case ALTO_BIN_LESS: return a < b;
    case ALTO_BIN_LESS_EQUAL: return a <= b;
    case ALTO_BIN_GREATER: return a > b;
    case ALTO_BIN_GREATER_EQUAL: return a >= b;
    case ALTO_BIN_LOGICAL_AND: return (a != T(0)) && (b != T(0));
    case ALTO_BIN_LOGICAL_OR: return (a != T(0)) || (b != T(0));
    default: return 0;
  }
}

// Output shape and the operands' strides per output dim, passed by value.
struct Broadcast {
  int64_t shape[ALTO_ENGINE_MAX_RANK];
  int64_t sa[ALTO_ENGINE_MAX_RANK];
  int64_t sb[ALTO_ENGINE_MAX_RANK];
  int32_t rank;
  int32_t same;  // both operands contiguous in the output's shape: no index arithmetic
};

__device__ __forceinline__ void offsets(const Broadcast& bc, int64_t i, int64_t& ia, int64_t& ib) {
  if (bc.same) {
    ia = ib = i;
    return;
  }
  ia = ib = 0;
  for (int d = bc.rank - 1; d >= 0; --d) {
    const int64_t c = i % bc.shape[d];
    i /= bc.shape[d];
    ia += c * bc.sa[d];
    ib += c * bc.sb[d];
  }
}

template <typename T, typename O, bool kCompare>
__global__ void binary_kernel(alto_binary_op op, const T* a, const T* b, O* out, Broadcast bc, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    int64_t ia, ib;
    offsets(bc, i, ia, ib);
    if constexpr (kCompare) out[i] = compare<T>(op, a[ia], b[ib]);
    else out[i] = arith<T>(op, a[ia], b[ib]);
  }
}

template <typename T>
cudaError_t binary_launch(alto_binary_op op, const void* a, const void* b, void* out, const Broadcast& bc, int64_t n, cudaStream_t s) {
  const bool cmp = op >= ALTO_BIN_EQUAL;
  if (cmp) binary_kernel<T, uint8_t, true><<<grid_for(n), 256, 0, s>>>(op, static_cast<const T*>(a), static_cast<const T*>(b), static_cast<uint8_t*>(out), bc, n);
  else binary_kernel<T, T, false><<<grid_for(n), 256, 0, s>>>(op, static_cast<const T*>(a), static_cast<const T*>(b), static_cast<T*>(out), bc, n);
  return cudaGetLastError();
}

}  // namespace

extern "C" alto_status alto_engine_unary(alto_engine* e, alto_unary_op op, alto_elem type, const void* x, void* y, int64_t n, float alpha) {
  if (alto_status st = engine_enter(e); st != ALTO_OK) return st;
  if (op < 0 || op >= ALTO_UN_COUNT) return engine_invalid(e, "unary: unknown op");
  const bool int_op = op == ALTO_UN_NEG || op == ALTO_UN_ABS || op == ALTO_UN_SQUARE || op == ALTO_UN_SIGN;
  if ((op == ALTO_UN_LOGICAL_NOT) != (type == ALTO_ELEM_U8) || (type == ALTO_ELEM_I32 && !int_op)) {
    return engine_invalid(e, "unary: this op does not take this element type");
  }
  if (n <= 0) return ALTO_OK;
  if (type == ALTO_ELEM_U8) logical_not_kernel<<<grid_for(n), 256, 0, e->stream>>>(static_cast<const uint8_t*>(x), static_cast<uint8_t*>(y), n);
  else if (type == ALTO_ELEM_I32) unary_i32_kernel<<<grid_for(n), 256, 0, e->stream>>>(op, static_cast<const int32_t*>(x), static_cast<int32_t*>(y), n);
  else unary_kernel<<<grid_for(n), 256, 0, e->stream>>>(op, static_cast<const float*>(x), static_cast<float*>(y), n, alpha);
  return engine_status(e, cudaGetLastError(), "unary");
}

extern "C" alto_status alto_engine_binary(alto_engine* e, alto_binary_op op, alto_elem type, const void* a, const int64_t* a_strides,
                                          const void* b, const int64_t* b_strides, void* out, const int64_t* shape, int32_t rank) {
  if (alto_status st = engine_enter(e); st != ALTO_OK) return st;
  if (op < 0 || op >= ALTO_BIN_COUNT) return engine_invalid(e, "binary: unknown op");
  if (rank < 0 || rank > ALTO_ENGINE_MAX_RANK) return engine_invalid(e, "binary: rank above ALTO_ENGINE_MAX_RANK");
  Broadcast bc{};
  bc.rank = rank;
  int64_t n = 1, contiguous = 1;
  bc.same = 1;
  for (int d = rank - 1; d >= 0; --d) {
    bc.shape[d] = shape[d];
    bc.sa[d] = a_strides[d];
    bc.sb[d] = b_strides[d];
    if (shape[d] > 1 && (a_strides[d] != contiguous || b_strides[d] != contiguous)) bc.same = 0;
    contiguous *= shape[d];
    n *= shape[d];
  }
  if (n <= 0) return ALTO_OK;
  cudaError_t err;
  switch (type) {
    case ALTO_ELEM_F32: err = binary_launch<float>(op, a, b, out, bc, n, e->stream); break;
    case ALTO_ELEM_I32: err = binary_launch<int32_t>(op, a, b, out, bc, n, e->stream); break;
    case ALTO_ELEM_U8:
      if (op < ALTO_BIN_EQUAL) return engine_invalid(e, "binary: arithmetic on bool");
      err = binary_launch<uint8_t>(op, a, b, out, bc, n, e->stream);
      break;
    default: return engine_invalid(e, "binary: unknown element type");
  }
  return engine_status(e, err, "binary");
}
