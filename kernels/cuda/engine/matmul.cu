// Batched matrix products through cuBLAS (loaded on first use).
#include <climits>

#include "engine_impl.h"

using namespace alto::cuda;

extern "C" alto_status alto_engine_matmul(alto_engine* e, alto_matmul_precision precision, int64_t batch, int64_t m, int64_t n, int64_t k,
                                          const float* A, int64_t stride_a, int32_t trans_a, const float* B, int64_t stride_b,
                                          int32_t trans_b, float* C) {
  if (alto_status st = engine_enter(e); st != ALTO_OK) return st;
  if (batch < 0 || m < 0 || n < 0 || k < 0 || batch > INT_MAX || m > INT_MAX || n > INT_MAX || k > INT_MAX) {
    return engine_invalid(e, "matmul: dimensions out of range");
  }
  if (batch == 0 || m == 0 || n == 0) return ALTO_OK;
  if (k == 0) return alto_engine_fill(e, ALTO_ELEM_F32, C, 0.0, batch * m * n);
  if (!e->blas_tried) {
    e->blas_tried = true;
    e->blas.open(e->stream);
  }
  if (!e->blas.ready()) {
    e->error = e->blas.error();
    return ALTO_ERR_UNSUPPORTED;
  }
  const int compute = precision == ALTO_MATMUL_TF32   ? Cublas::kComputeF32FastTf32
                      : precision == ALTO_MATMUL_BF16 ? Cublas::kComputeF32FastBf16
                                                      : Cublas::kComputeF32;
  const int lda = static_cast<int>(trans_a ? m : k), ldb = static_cast<int>(trans_b ? k : n);
  if (!e->blas.gemm_batched(trans_a != 0, trans_b != 0, static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), 1.0f, A, CUDA_R_32F, lda,
                            stride_a, B, CUDA_R_32F, ldb, stride_b, 0.0f, C, CUDA_R_32F, static_cast<int>(n), m * n, static_cast<int>(batch),
                            compute)) {
    e->error = "cublasGemmStridedBatchedEx failed";
    return ALTO_ERR_CUDA;
  }
  return ALTO_OK;
}
