// What an alto_engine holds, and helpers shared by the engine's operation files.
#pragma once
#include <cuda_runtime.h>

#include <memory>
#include <mutex>
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

// Pinned memory that small uploads are copied into before their copy is queued. A copy from
// pageable memory may wait for the stream to reach it (the driver stages it), which keeps
// the host from queueing ahead of the device; from pinned memory it returns at once. The
// ring is cut into chunks filled in turn; an event recorded after a chunk's last copy says
// when it may be filled again (the host waits only when it is a whole ring ahead).
struct alto_upload_ring {
  static constexpr size_t kChunkBytes = size_t{1} << 20;  // holds any upload below kFromBytes
  static constexpr int kChunks = 32;
  char* base = nullptr;
  cudaEvent_t drained[kChunks] = {};
  bool queued[kChunks] = {};  // an event was recorded for the chunk since it was last filled
  int chunk = 0;
  size_t used = 0;
  bool tried = false, ready = false;
};

// The second stream and pinned buffers that asynchronous reads (alto_download) reach the host
// through; one read at a time uses them (the mutex), from whichever thread finishes it.
struct alto_download_lane {
  static constexpr size_t kBytes = size_t{16} << 20;  // per buffer
  std::mutex busy;
  cudaStream_t stream = nullptr;
  void* buffer[2] = {nullptr, nullptr};
  cudaEvent_t filled[2] = {nullptr, nullptr};
  bool tried = false, ready = false;
};

struct alto_engine {
  int device = 0;
  cudaStream_t stream = nullptr;
  alto_staging staging;
  alto_upload_ring ring;
  alto_download_lane lane;
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

// Pinned host buffers (each `bytes` long) and events, made together; false where any of them
// could not be (the caller then does without). pinned_release frees whatever was made.
bool pinned_make(void** buffers, int count, size_t bytes, cudaEvent_t* events, int event_count);
void pinned_release(void** buffers, int count, cudaEvent_t* events, int event_count);

// Queues a host-to-device copy of fewer than alto_staging::kFromBytes bytes through the upload
// ring (pageable when the ring cannot be allocated); `src` may be reused when it returns.
cudaError_t ring_upload(alto_engine* e, void* dst, const void* src, size_t bytes);
void ring_release(alto_engine* e);
void lane_release(alto_engine* e);

}  // namespace alto::cuda
