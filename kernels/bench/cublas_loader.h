// The few cuBLAS entry points the benchmark's per-adapter loop uses, loaded at run time so
// that the benchmark builds where cuBLAS is not installed (CI compiles it; the GPU machine
// runs it).
#pragma once
#include <cuda_runtime.h>
#include <library_types.h>

namespace alto::bench {

class Cublas {
 public:
  // Loads libcublas and creates a handle on `stream`; false (with a message) when unavailable.
  bool open(cudaStream_t stream);
  ~Cublas();
  // Row-major C[m×n] = alpha·op(A)[m×k]·op(B)[k×n] + beta·C, fp32 accumulation, no TF32.
  bool gemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const void* A, cudaDataType ta, int lda,
            const void* B, cudaDataType tb, int ldb, float beta, void* C, cudaDataType tc, int ldc);

 private:
  void* lib_ = nullptr;
  void* handle_ = nullptr;
  int (*destroy_)(void*) = nullptr;
  int (*gemm_ex_)(void*, int, int, int, int, int, const void*, const void*, cudaDataType, int, const void*, cudaDataType, int,
                  const void*, void*, cudaDataType, int, int, int) = nullptr;
};

}  // namespace alto::bench
