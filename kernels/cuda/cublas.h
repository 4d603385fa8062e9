// The few cuBLAS entry points ALTO uses, loaded at run time (dlopen), so that everything
// builds where cuBLAS is not installed (CI compiles it; the GPU machine runs it).
#pragma once
#include <cuda_runtime.h>
#include <library_types.h>

#include <string>

namespace alto::cuda {

class Cublas {
 public:
  // cublasComputeType_t values used here.
  static constexpr int kComputeF32 = 68;           // exact fp32 products, fp32 sums
  static constexpr int kComputeF32FastTf32 = 77;   // inputs rounded to TF32, fp32 sums

  // Loads libcublas and creates a handle on `stream`; false with `error()` set when unavailable.
  bool open(cudaStream_t stream);
  bool ready() const { return handle_ != nullptr; }
  const std::string& error() const { return error_; }
  ~Cublas();
  // Row-major C[m×n] = alpha·op(A)[m×k]·op(B)[k×n] + beta·C, fp32 accumulation, no TF32.
  bool gemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const void* A, cudaDataType ta, int lda, const void* B,
            cudaDataType tb, int ldb, float beta, void* C, cudaDataType tc, int ldc);
  // The same over `batch` matrices at the given element strides (0: one matrix for all).
  bool gemm_batched(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const void* A, cudaDataType ta, int lda,
                    long long stride_a, const void* B, cudaDataType tb, int ldb, long long stride_b, float beta, void* C, cudaDataType tc,
                    int ldc, long long stride_c, int batch, int compute);

 private:
  void* lib_ = nullptr;
  void* handle_ = nullptr;
  std::string error_;
  int (*destroy_)(void*) = nullptr;
  int (*gemm_ex_)(void*, int, int, int, int, int, const void*, const void*, cudaDataType, int, const void*, cudaDataType, int,
                  const void*, void*, cudaDataType, int, int, int) = nullptr;
  int (*gemm_batched_ex_)(void*, int, int, int, int, int, const void*, const void*, cudaDataType, int, long long, const void*,
                          cudaDataType, int, long long, const void*, void*, cudaDataType, int, long long, int, int, int) = nullptr;
};

}  // namespace alto::cuda
