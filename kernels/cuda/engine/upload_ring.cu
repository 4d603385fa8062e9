// Small uploads through pinned memory (alto_upload_ring in engine_impl.h).
#include <cstring>

#include "engine_impl.h"

namespace alto::cuda {
namespace {

bool ring_ready(alto_engine* e) {
  alto_upload_ring& r = e->ring;
  if (r.tried) return r.ready;
  r.tried = true;
  void* base = nullptr;
  r.ready = pinned_make(&base, 1, alto_upload_ring::kChunkBytes * alto_upload_ring::kChunks, r.drained, alto_upload_ring::kChunks);
  r.base = static_cast<char*>(base);
  return r.ready;
}

// Closes the current chunk (an event after its last copy) and opens the next, waiting until
// the copies out of it the last time round have run.
cudaError_t next_chunk(alto_engine* e) {
  alto_upload_ring& r = e->ring;
  cudaError_t err = cudaEventRecord(r.drained[r.chunk], e->stream);
  if (err != cudaSuccess) return err;
  r.queued[r.chunk] = true;
  r.chunk = (r.chunk + 1) % alto_upload_ring::kChunks;
  r.used = 0;
  if (r.queued[r.chunk]) {
    err = cudaEventSynchronize(r.drained[r.chunk]);
    r.queued[r.chunk] = false;
  }
  return err;
}

}  // namespace

cudaError_t ring_upload(alto_engine* e, void* dst, const void* src, size_t bytes) {
  if (bytes == 0) return cudaSuccess;
  if (bytes > alto_upload_ring::kChunkBytes || !ring_ready(e)) return cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, e->stream);
  alto_upload_ring& r = e->ring;
  if (r.used + bytes > alto_upload_ring::kChunkBytes) {
    if (cudaError_t err = next_chunk(e); err != cudaSuccess) return err;
  }
  char* slot = r.base + static_cast<size_t>(r.chunk) * alto_upload_ring::kChunkBytes + r.used;
  std::memcpy(slot, src, bytes);
  r.used += (bytes + 255) & ~size_t{255};  // each copy starts 256-byte aligned
  return cudaMemcpyAsync(dst, slot, bytes, cudaMemcpyHostToDevice, e->stream);
}

void ring_release(alto_engine* e) {
  void* base = e->ring.base;
  pinned_release(&base, 1, e->ring.drained, alto_upload_ring::kChunks);
  e->ring.base = nullptr;
}

}  // namespace alto::cuda
