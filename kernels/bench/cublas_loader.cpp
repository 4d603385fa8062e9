#include "cublas_loader.h"

#include <cstdio>
#include <dlfcn.h>

namespace alto::bench {
namespace {
constexpr int kOpN = 0, kOpT = 1;           // cublasOperation_t
constexpr int kComputeF32 = 68;             // CUBLAS_COMPUTE_32F: exact fp32 products, fp32 sums
constexpr int kGemmDefault = -1;            // CUBLAS_GEMM_DEFAULT
}  // namespace

bool Cublas::open(cudaStream_t stream) {
  for (const char* name : {"libcublas.so.13", "libcublas.so.12", "libcublas.so"}) {
    lib_ = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (lib_) break;
  }
  if (!lib_) {
    std::fprintf(stderr, "cuBLAS not found (libcublas.so.13/12): %s\n", dlerror());
    return false;
  }
  auto create = reinterpret_cast<int (*)(void**)>(dlsym(lib_, "cublasCreate_v2"));
  auto set_stream = reinterpret_cast<int (*)(void*, cudaStream_t)>(dlsym(lib_, "cublasSetStream_v2"));
  destroy_ = reinterpret_cast<int (*)(void*)>(dlsym(lib_, "cublasDestroy_v2"));
  gemm_ex_ = reinterpret_cast<decltype(gemm_ex_)>(dlsym(lib_, "cublasGemmEx"));
  if (!create || !set_stream || !destroy_ || !gemm_ex_) return false;
  if (create(&handle_) != 0) return false;
  return set_stream(handle_, stream) == 0;
}

Cublas::~Cublas() {
  if (handle_ && destroy_) destroy_(handle_);
  if (lib_) dlclose(lib_);
}

// cuBLAS is column-major: a row-major C = op(A)·op(B) is the column-major Cᵀ = op(B)ᵀ·op(A)ᵀ,
// so the operands swap places and keep their transpose flags.
bool Cublas::gemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const void* A, cudaDataType ta, int lda,
                  const void* B, cudaDataType tb, int ldb, float beta, void* C, cudaDataType tc, int ldc) {
  return gemm_ex_(handle_, trans_b ? kOpT : kOpN, trans_a ? kOpT : kOpN, n, m, k, &alpha, B, tb, ldb, A, ta, lda, &beta, C, tc, ldc,
                  kComputeF32, kGemmDefault) == 0;
}

}  // namespace alto::bench
