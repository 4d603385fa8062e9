// Batched matrix products through cuBLAS (loaded on first use). bf16 precision rounds both
// inputs to bf16 copies first and multiplies those on the tensor cores (cuBLAS's "fast bf16"
// compute type may pick TF32 kernels instead, so it does not promise bf16 inputs).
#include <cuda_bf16.h>

#include <climits>

#include "engine_impl.h"

using namespace alto::cuda;

namespace {

// Four floats a thread (16-byte load, 8-byte store) where x is 16-byte aligned, the tail one by
// one; I the index type (32-bit below 2^31 elements).
template <typename I>
__global__ void to_bf16(const float* x, __nv_bfloat16* y, I n, bool vec) {
  const I stride = I(gridDim.x) * blockDim.x, first = blockIdx.x * I(blockDim.x) + threadIdx.x;
  I done = 0;
  if (vec) {
    const I quads = n / 4;
    for (I i = first; i < quads; i += stride) {
      const float4 v = reinterpret_cast<const float4*>(x)[i];
      __nv_bfloat162 lo = __floats2bfloat162_rn(v.x, v.y), hi = __floats2bfloat162_rn(v.z, v.w);
      uint2 packed;
      packed.x = *reinterpret_cast<uint32_t*>(&lo);
      packed.y = *reinterpret_cast<uint32_t*>(&hi);
      reinterpret_cast<uint2*>(y)[i] = packed;
    }
    done = quads * 4;
  }
  for (I i = done + first; i < n; i += stride) y[i] = __float2bfloat16_rn(x[i]);
}

// A bf16 copy of `count` floats from the pool (stream-ordered: freed after the product is queued).
cudaError_t bf16_copy(alto_engine* e, const float* x, int64_t count, void** out) {
  cudaError_t err = e->pool->alloc(static_cast<size_t>(count) * 2, out);
  if (err != cudaSuccess) return err;
  const bool vec = reinterpret_cast<uintptr_t>(x) % 16 == 0 && reinterpret_cast<uintptr_t>(*out) % 8 == 0;
  const int64_t work = vec ? (count + 3) / 4 : count, blocks = (work + 255) / 256;
  const unsigned grid = static_cast<unsigned>(blocks < 65535LL * 8 ? blocks : 65535LL * 8);
  auto* y = static_cast<__nv_bfloat16*>(*out);
  if (count < (int64_t(1) << 31)) to_bf16<int32_t><<<grid, 256, 0, e->stream>>>(x, y, static_cast<int32_t>(count), vec);
  else to_bf16<int64_t><<<grid, 256, 0, e->stream>>>(x, y, count, vec);
  return cudaGetLastError();
}

// A_bf16 (bf16 precision only; may be NULL): A's bf16 copy, made by whoever wrote A, used instead of a new one.
alto_status matmul(alto_engine* e, alto_matmul_precision precision, int64_t batch, int64_t m, int64_t n, int64_t k, const float* A,
                   const void* A_bf16, int64_t stride_a, int32_t trans_a, const float* B, int64_t stride_b, int32_t trans_b, float* C, bool add) {
  if (alto_status st = engine_enter(e); st != ALTO_OK) return st;
  if (batch < 0 || m < 0 || n < 0 || k < 0 || batch > INT_MAX || m > INT_MAX || n > INT_MAX || k > INT_MAX) {
    return engine_invalid(e, "matmul: dimensions out of range");
  }
  if (batch == 0 || m == 0 || n == 0) return ALTO_OK;
  if (k == 0) return add ? ALTO_OK : alto_engine_fill(e, ALTO_ELEM_F32, C, 0.0, batch * m * n);
  if (!e->blas_tried) {
    e->blas_tried = true;
    e->blas.open(e->stream);
  }
  if (!e->blas.ready()) {
    e->error = e->blas.error();
    return ALTO_ERR_UNSUPPORTED;
  }
  const int lda = static_cast<int>(trans_a ? m : k), ldb = static_cast<int>(trans_b ? k : n);
  const void* a = A;
  const void* b = B;
  void* a16 = nullptr;
  void* b16 = nullptr;
  cudaDataType type = CUDA_R_32F;
  if (precision == ALTO_MATMUL_BF16) {
    // Elements each operand spans: one matrix when broadcast (stride 0), else the batch.
    const int64_t count_a = stride_a == 0 ? m * k : stride_a * (batch - 1) + m * k;
    const int64_t count_b = stride_b == 0 ? k * n : stride_b * (batch - 1) + k * n;
    cudaError_t err = A_bf16 ? cudaSuccess : bf16_copy(e, A, count_a, &a16);
    if (err == cudaSuccess) err = bf16_copy(e, B, count_b, &b16);
    if (err != cudaSuccess) {
      if (a16) e->pool->free(a16);
      return engine_status(e, err, "matmul (bf16 copies)");
    }
    a = A_bf16 ? A_bf16 : a16, b = b16, type = CUDA_R_16BF;
  }
  const int compute = precision == ALTO_MATMUL_TF32 ? Cublas::kComputeF32FastTf32 : Cublas::kComputeF32;
  const float beta = add ? 1.0f : 0.0f;
  const bool ok = e->blas.gemm_batched(trans_a != 0, trans_b != 0, static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), 1.0f, a, type, lda,
                                       stride_a, b, type, ldb, stride_b, beta, C, CUDA_R_32F, static_cast<int>(n), m * n, static_cast<int>(batch),
                                       compute);
  if (a16) e->pool->free(a16);
  if (b16) e->pool->free(b16);
  if (!ok) {
    e->error = "cublasGemmStridedBatchedEx failed";
    return ALTO_ERR_CUDA;
  }
  return ALTO_OK;
}

}  // namespace

extern "C" alto_status alto_engine_matmul(alto_engine* e, alto_matmul_precision precision, int64_t batch, int64_t m, int64_t n, int64_t k,
                                          const float* A, int64_t stride_a, int32_t trans_a, const float* B, int64_t stride_b,
                                          int32_t trans_b, float* C) {
  return matmul(e, precision, batch, m, n, k, A, nullptr, stride_a, trans_a, B, stride_b, trans_b, C, false);
}

extern "C" alto_status alto_engine_matmul_add(alto_engine* e, alto_matmul_precision precision, int64_t batch, int64_t m, int64_t n,
                                              int64_t k, const float* A, int64_t stride_a, int32_t trans_a, const float* B,
                                              int64_t stride_b, int32_t trans_b, float* C) {
  return matmul(e, precision, batch, m, n, k, A, nullptr, stride_a, trans_a, B, stride_b, trans_b, C, true);
}

extern "C" alto_status alto_engine_matmul_bf16_a(alto_engine* e, int64_t batch, int64_t m, int64_t n, int64_t k, const void* A_bf16,
                                                 int64_t stride_a, int32_t trans_a, const float* B, int64_t stride_b, int32_t trans_b, float* C,
                                                 int32_t add) {
  if (!A_bf16 && batch > 0 && m > 0 && n > 0 && k > 0) return engine_invalid(e, "matmul_bf16_a: no bf16 copy of A");
  return matmul(e, ALTO_MATMUL_BF16, batch, m, n, k, nullptr, A_bf16, stride_a, trans_a, B, stride_b, trans_b, C, add != 0);
}
