// Asynchronous reads (alto_engine_download_begin / alto_download_finish / alto_download_end).
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <system_error>
#include <thread>
#ifdef __linux__
#include <sys/mman.h>
#endif

#include "engine_impl.h"

using namespace alto::cuda;

struct alto_download {
  alto_engine* engine = nullptr;
  void* copy = nullptr;  // the device copy taken in stream order, from the engine's pool
  size_t bytes = 0;
  cudaEvent_t taken = nullptr;  // recorded on the engine's stream after the copy
  std::string error;
};

namespace alto::cuda {

namespace {

bool lane_ready(alto_engine* e) {
  alto_download_lane& l = e->lane;
  if (l.tried) return l.ready;
  l.tried = true;
  if (cudaStreamCreateWithFlags(&l.stream, cudaStreamNonBlocking) != cudaSuccess) {
    l.stream = nullptr;
    cudaGetLastError();
    return false;
  }
  return l.ready = pinned_make(l.buffer, 2, alto_download_lane::kBytes, l.filled, 2);
}

// The host array of a read is mostly fresh memory, whose first touch faults a 4 KiB page at a
// time: that, not the bus, bounds a read of an adapter's weights (hundreds of MB) at a few
// GB/s. Advised huge pages fault 512 times less often (advice only: ignored where the kernel
// has them off).
void advise_huge_pages(char* p, size_t bytes) {
#ifdef MADV_HUGEPAGE
  constexpr uintptr_t kHuge = uintptr_t{2} << 20;
  const uintptr_t begin = (reinterpret_cast<uintptr_t>(p) + kHuge - 1) & ~(kHuge - 1);
  const uintptr_t end = (reinterpret_cast<uintptr_t>(p) + bytes) & ~(kHuge - 1);
  if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
#else
  (void)p;
  (void)bytes;
#endif
}

// A piece's host copy split across threads: one thread's memcpy into a fresh array (its page
// faults included) moved about 3 GB/s on the H200 machine, so a sweep's last adapters' weights
// (a few GB) kept its end waiting.
void copy_on_threads(char* dst, const char* src, size_t bytes) {
  constexpr size_t kThreads = 8, kLeast = size_t{2} << 20;
  const size_t parts = std::min(kThreads, bytes / kLeast);
  if (parts < 2) {
    std::memcpy(dst, src, bytes);
    return;
  }
  const size_t each = (bytes / parts + 63) & ~size_t{63};
  std::thread helpers[kThreads];
  for (size_t k = 1; k < parts; ++k) {
    const size_t at = k * each, n = std::min(each, bytes - at);
    try {
      helpers[k] = std::thread([=] { std::memcpy(dst + at, src + at, n); });
    } catch (const std::system_error&) {  // no thread to be had: this one copies the part
      std::memcpy(dst + at, src + at, n);
    }
  }
  std::memcpy(dst, src, std::min(each, bytes));
  for (std::thread& t : helpers)
    if (t.joinable()) t.join();
}

// Device copy → host through the two pinned buffers in turn: the next piece is copied while
// the host takes the last one.
cudaError_t copy_to_host(alto_download_lane& l, const char* src, char* dst, size_t bytes) {
  advise_huge_pages(dst, bytes);
  size_t previous_offset = 0, previous_bytes = 0;
  int previous = -1;
  for (size_t offset = 0, piece = 0; offset < bytes || previous >= 0; ++piece) {
    const int b = static_cast<int>(piece & 1);
    const size_t n = offset < bytes ? (bytes - offset < alto_download_lane::kBytes ? bytes - offset : alto_download_lane::kBytes) : 0;
    if (n > 0) {
      cudaError_t err = cudaMemcpyAsync(l.buffer[b], src + offset, n, cudaMemcpyDeviceToHost, l.stream);
      if (err == cudaSuccess) err = cudaEventRecord(l.filled[b], l.stream);
      if (err != cudaSuccess) return err;
    }
    if (previous >= 0) {
      if (cudaError_t err = cudaEventSynchronize(l.filled[previous]); err != cudaSuccess) return err;
      copy_on_threads(dst + previous_offset, static_cast<const char*>(l.buffer[previous]), previous_bytes);
    }
    previous = n > 0 ? b : -1;
    previous_offset = offset;
    previous_bytes = n;
    offset += n;
  }
  return cudaSuccess;
}

}  // namespace

void lane_release(alto_engine* e) {
  alto_download_lane& l = e->lane;
  pinned_release(l.buffer, 2, l.filled, 2);
  if (l.stream) cudaStreamDestroy(l.stream);
  l.stream = nullptr;
}

}  // namespace alto::cuda

extern "C" alto_status alto_engine_download_begin(alto_engine* e, const void* src, size_t bytes, alto_download** out) {
  if (alto_status st = engine_enter(e); st != ALTO_OK) return st;
  if (!out) return engine_invalid(e, "download_begin: no output pointer");
  *out = nullptr;
  if (!lane_ready(e)) return engine_status(e, cudaErrorMemoryAllocation, "download_begin (pinned buffers)");
  auto* d = new alto_download;
  d->engine = e;
  d->bytes = bytes;
  cudaError_t err = e->pool->alloc(bytes > 0 ? bytes : 1, &d->copy);
  if (err == cudaSuccess) err = cudaEventCreateWithFlags(&d->taken, cudaEventDisableTiming);
  if (err == cudaSuccess && bytes > 0) err = cudaMemcpyAsync(d->copy, src, bytes, cudaMemcpyDeviceToDevice, e->stream);
  if (err == cudaSuccess) err = cudaEventRecord(d->taken, e->stream);
  if (err != cudaSuccess) {
    alto_download_end(d);
    return engine_status(e, err, "download_begin");
  }
  *out = d;
  return ALTO_OK;
}

extern "C" alto_status alto_download_finish(alto_download* d, void* host_dst) {
  if (!d || (!host_dst && d->bytes > 0)) return ALTO_ERR_INVALID_ARGUMENT;
  alto_download_lane& l = d->engine->lane;
  std::lock_guard<std::mutex> hold(l.busy);
  cudaError_t err = cudaSetDevice(d->engine->device);
  if (err == cudaSuccess) err = cudaStreamWaitEvent(l.stream, d->taken, 0);
  if (err == cudaSuccess) err = copy_to_host(l, static_cast<const char*>(d->copy), static_cast<char*>(host_dst), d->bytes);
  if (err == cudaSuccess) return ALTO_OK;
  d->error = std::string("download: ") + cudaGetErrorString(err);
  return ALTO_ERR_CUDA;
}

extern "C" const char* alto_download_error(const alto_download* d) { return d ? d->error.c_str() : ""; }

extern "C" void alto_download_end(alto_download* d) {
  if (!d) return;
  cudaSetDevice(d->engine->device);
  if (d->copy) d->engine->pool->free(d->copy);
  if (d->taken) cudaEventDestroy(d->taken);
  delete d;
}
