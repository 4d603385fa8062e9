// What an alto_engine holds, and helpers shared by the engine's operation files.
#pragma once
#include <cuda_runtime.h>

#include <memory>
#include <string>

#include "../cublas.h"
#include "alto/engine.h"
#include "pool.h"

// Two pinned buffers that large uploads pass through: a copy from pageable memory is staged
// by the driver in small pieces and ran at a few hundred MB/s on the GPU machine.
struct alto_staging {
  static constexpr size_t kBytes = size_t{16} << 20;     // per buffer
  static constexpr size_t kFromBytes = size_t{1} << 20;  // uploads this large or larger
  void* buffer[2] = {nullptr, nullptr};
  cudaEvent_t drained[2] = {nullptr, nullptr};  // the copy out of each buffer has finished
  bool tried = false, ready = false;
};

struct alto_engine {
  int device = 0;
  cudaStream_t stream = nullptr;
  alto_staging staging;
  std::unique_ptr<alto::cuda::Pool> pool;
  alto::cuda::Cublas blas;
  bool blas_tried = false;
  std::string error;
};

namespace alto::cuda {

// Records a CUDA failure on the engine and maps it to a status.
inline alto_status engine_status(alto_engine* e, cudaError_t err, const char* what) {
  if (err == cudaSuccess) return ALTO_OK;
  e->error = std::string(what) + ": " + cudaGetErrorString(err);
  cudaGetLastError();
  return ALTO_ERR_CUDA;
}
inline alto_status engine_invalid(alto_engine* e, const char* why) {
  e->error = why;
  return ALTO_ERR_INVALID_ARGUMENT;
}

// Makes the engine's device current for the calling thread.
inline alto_status engine_enter(alto_engine* e) {
  if (!e) return ALTO_ERR_INVALID_ARGUMENT;
  return engine_status(e, cudaSetDevice(e->device), "cudaSetDevice");
}

// Blocks for n elements, a grid-stride loop covering the rest.
inline unsigned grid_for(int64_t n, int threads = 256) {
  const int64_t blocks = (n + threads - 1) / threads;
  return static_cast<unsigned>(blocks < 1 ? 1 : (blocks > 65535LL * 8 ? 65535LL * 8 : blocks));
}

inline size_t elem_bytes(alto_elem t) { return t == ALTO_ELEM_U8 ? 1 : 4; }

}  // namespace alto::cuda
