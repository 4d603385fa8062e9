#include "cublas.h"

#include <dlfcn.h>

namespace alto::cuda {
namespace {
constexpr int kOpN = 0, kOpT = 1;  // cublasOperation_t
constexpr int kGemmDefault = -1;   // CUBLAS_GEMM_DEFAULT
}  // namespace

bool Cublas::open(cudaStream_t stream) {
  for (const char* name : {"libcublas.so.13", "libcublas.so.12", "libcublas.so"}) {
    lib_ = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (lib_) break;
  }
  if (!lib_) {
    const char* why = dlerror();
    error_ = std::string("cuBLAS not found (libcublas.so.13/12): ") + (why ? why : "");
    return false;
  }
  auto create = reinterpret_cast<int (*)(void**)>(dlsym(lib_, "cublasCreate_v2"));
  auto set_stream = reinterpret_cast<int (*)(void*, cudaStream_t)>(dlsym(lib_, "cublasSetStream_v2"));
  destroy_ = reinterpret_cast<int (*)(void*)>(dlsym(lib_, "cublasDestroy_v2"));
  gemm_ex_ = reinterpret_cast<decltype(gemm_ex_)>(dlsym(lib_, "cublasGemmEx"));
  gemm_batched_ex_ = reinterpret_cast<decltype(gemm_batched_ex_)>(dlsym(lib_, "cublasGemmStridedBatchedEx"));
  if (!create || !set_stream || !destroy_ || !gemm_ex_ || !gemm_batched_ex_) {
    error_ = "cuBLAS lacks cublasCreate_v2/cublasGemmEx/cublasGemmStridedBatchedEx";
    return false;
  }
  void* handle = nullptr;
  if (create(&handle) != 0 || set_stream(handle, stream) != 0) {
    error_ = "cublasCreate failed";
    if (handle) destroy_(handle);
    return false;
  }
  handle_ = handle;
  return true;
}

Cublas::~Cublas() {
  if (handle_ && destroy_) destroy_(handle_);
  if (lib_) dlclose(lib_);
}

// cuBLAS is column-major: a row-major C = op(A)·op(B) is the column-major Cᵀ = op(B)ᵀ·op(A)ᵀ,
// so the operands swap places and keep their transpose flags.
bool Cublas::gemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const void* A, cudaDataType ta, int lda, const void* B,
                  cudaDataType tb, int ldb, float beta, void* C, cudaDataType tc, int ldc) {
  return gemm_ex_(handle_, trans_b ? kOpT : kOpN, trans_a ? kOpT : kOpN, n, m, k, &alpha, B, tb, ldb, A, ta, lda, &beta, C, tc, ldc,
                  kComputeF32, kGemmDefault) == 0;
}

bool Cublas::gemm_batched(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const void* A, cudaDataType ta, int lda,
                          long long stride_a, const void* B, cudaDataType tb, int ldb, long long stride_b, float beta, void* C,
                          cudaDataType tc, int ldc, long long stride_c, int batch, int compute) {
  return gemm_batched_ex_(handle_, trans_b ? kOpT : kOpN, trans_a ? kOpT : kOpN, n, m, k, &alpha, B, tb, ldb, stride_b, A, ta, lda, stride_a,
                          &beta, C, tc, ldc, stride_c, batch, compute, kGemmDefault) == 0;
}

}  // namespace alto::cuda
