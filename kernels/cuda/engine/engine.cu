// Engine lifetime, memory, transfers, fill, cast and select.
#include <algorithm>
#include <cstring>

#include "engine_impl.h"

using namespace alto::cuda;

namespace {

template <typename T>
__global__ void fill_kernel(T* out, T value, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) out[i] = value;
}

// @alto/core's Rng (mulberry32): draw i's counter is state + (i + 1)·step, so any draw is
// computed on its own. The double arithmetic is spelled out (no fused multiply-add) so that
// the values are the host's bit for bit.
__global__ void fill_uniform_kernel(float* out, int64_t n, uint32_t state, double lo, double span) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    uint32_t t = state + static_cast<uint32_t>(i + 1) * 0x6d2b79f5u;
    t = (t ^ (t >> 15)) * (t | 1u);
    t ^= t + (t ^ (t >> 7)) * (t | 61u);
    t ^= t >> 14;
    out[i] = static_cast<float>(__dadd_rn(lo, __dmul_rn(span, static_cast<double>(t) / 4294967296.0)));
  }
}

// grid.y picks the array; the blocks along x stride over its elements.
__global__ void zero_many_kernel(float* const* ptrs, const int64_t* counts) {
  float* out = ptrs[blockIdx.y];
  const int64_t n = counts[blockIdx.y];
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) out[i] = 0.0f;
}

template <typename From, typename To>
__device__ __forceinline__ To convert(From v) {
  if constexpr (std::is_same<To, uint8_t>::value) return v != From(0) ? 1 : 0;
  else if constexpr (std::is_same<To, int32_t>::value && std::is_same<From, float>::value) return static_cast<int32_t>(truncf(v));
  else return static_cast<To>(v);
}

template <typename From, typename To>
__global__ void cast_kernel(const From* x, To* y, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) y[i] = convert<From, To>(x[i]);
}

template <typename T>
__global__ void select_kernel(const uint8_t* cond, const T* a, const T* b, T* out, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) out[i] = cond[i] ? a[i] : b[i];
}

template <typename From>
cudaError_t cast_from(const From* x, alto_elem to, void* y, int64_t n, cudaStream_t s) {
  switch (to) {
    case ALTO_ELEM_F32: cast_kernel<<<grid_for(n), 256, 0, s>>>(x, static_cast<float*>(y), n); break;
    case ALTO_ELEM_I32: cast_kernel<<<grid_for(n), 256, 0, s>>>(x, static_cast<int32_t*>(y), n); break;
    case ALTO_ELEM_U8: cast_kernel<<<grid_for(n), 256, 0, s>>>(x, static_cast<uint8_t*>(y), n); break;
  }
  return cudaGetLastError();
}

}  // namespace

namespace alto::cuda {

bool pinned_make(void** buffers, int count, size_t bytes, cudaEvent_t* events, int event_count) {
  for (int b = 0; b < count; ++b) {
    if (cudaMallocHost(&buffers[b], bytes) != cudaSuccess) {
      buffers[b] = nullptr;
      cudaGetLastError();
      return false;
    }
  }
  for (int i = 0; i < event_count; ++i) {
    if (cudaEventCreateWithFlags(&events[i], cudaEventDisableTiming) != cudaSuccess) {
      events[i] = nullptr;
      cudaGetLastError();
      return false;
    }
  }
  return true;
}

void pinned_release(void** buffers, int count, cudaEvent_t* events, int event_count) {
  for (int b = 0; b < count; ++b) {
    if (buffers[b]) cudaFreeHost(buffers[b]);
    buffers[b] = nullptr;
  }
  for (int i = 0; i < event_count; ++i) {
    if (events[i]) cudaEventDestroy(events[i]);
    events[i] = nullptr;
  }
}

}  // namespace alto::cuda

namespace {

// Allocates the pinned buffers on first use; false (uploads stay pageable) when that fails.
bool staging_ready(alto_engine* e) {
  alto_staging& s = e->staging;
  if (!s.tried) {
    s.tried = true;
    s.ready = pinned_make(s.buffer, 2, alto_staging::kBytes, s.drained, 2);
  }
  return s.ready;
}

void staging_release(alto_engine* e) { pinned_release(e->staging.buffer, 2, e->staging.drained, 2); }

}  // namespace

extern "C" alto_status alto_engine_create(int32_t device, const alto_engine_options* options, alto_engine** out) {
  if (!out) return ALTO_ERR_INVALID_ARGUMENT;
  *out = nullptr;
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess || device < 0 || device >= count) {
    cudaGetLastError();
    return ALTO_ERR_INVALID_ARGUMENT;
  }
  auto* e = new alto_engine;
  e->device = device;
  if (cudaSetDevice(device) != cudaSuccess || cudaStreamCreateWithFlags(&e->stream, cudaStreamNonBlocking) != cudaSuccess) {
    cudaGetLastError();
    delete e;
    return ALTO_ERR_CUDA;
  }
  e->pool = std::make_unique<Pool>(e->stream, !options || options->paged_memory != 0);
  *out = e;
  return ALTO_OK;
}

extern "C" void alto_engine_destroy(alto_engine* e) {
  if (!e) return;
  cudaSetDevice(e->device);
  cudaStreamSynchronize(e->stream);
  e->pool.reset();
  staging_release(e);
  ring_release(e);
  lane_release(e);
  cudaStreamDestroy(e->stream);
  delete e;
}

extern "C" void* alto_engine_stream(alto_engine* e) { return e ? e->stream : nullptr; }

extern "C" const char* alto_engine_last_error(const alto_engine* e) { return e ? e->error.c_str() : ""; }

extern "C" alto_status alto_engine_alloc(alto_engine* e, size_t bytes, void** ptr) {
  if (alto_status st = engine_enter(e); st != ALTO_OK) return st;
  if (!ptr) return engine_invalid(e, "alloc: no output pointer");
  return engine_status(e, e->pool->alloc(bytes, ptr), "device memory");
}

extern "C" alto_status alto_engine_free(alto_engine* e, void* ptr) {
  if (!e) return ALTO_ERR_INVALID_ARGUMENT;
  return e->pool->free(ptr) ? ALTO_OK : engine_invalid(e, "free: not a live block of this engine");
}

extern "C" alto_status alto_engine_memory_stats(const alto_engine* e, alto_engine_memory* out) {
  if (!e || !out) return ALTO_ERR_INVALID_ARGUMENT;
  out->in_use = e->pool->in_use();
  out->reserved = e->pool->reserved();
  out->allocations = e->pool->live_blocks();
  out->peak_in_use = e->pool->peak_in_use();
  out->paged = e->pool->paged() ? 1 : 0;
  size_t free = 0, total = 0;
  if (cudaSetDevice(e->device) != cudaSuccess || cudaMemGetInfo(&free, &total) != cudaSuccess) {
    cudaGetLastError();
    free = total = 0;
  }
  out->device_free = free;
  out->device_total = total;
  return ALTO_OK;
}

extern "C" alto_status alto_engine_reset_peak(alto_engine* e) {
  if (!e) return ALTO_ERR_INVALID_ARGUMENT;
  e->pool->reset_peak();
  return ALTO_OK;
}

extern "C" alto_status alto_engine_trim(alto_engine* e) {
  if (alto_status st = engine_enter(e); st != ALTO_OK) return st;
  return engine_status(e, e->pool->trim(), "trim");
}


extern "C" alto_status alto_engine_upload(alto_engine* e, void* dst, const void* src, size_t bytes) {
  if (alto_status st = engine_enter(e); st != ALTO_OK) return st;
  if (bytes < alto_staging::kFromBytes) return engine_status(e, ring_upload(e, dst, src, bytes), "upload");
  if (!staging_ready(e)) {
    // Pageable host memory: the copy has taken the bytes when this returns.
    return engine_status(e, cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, e->stream), "upload");
  }
  // Through the two pinned buffers in turn: the host fills one while the other is copied.
  // Every byte is in a pinned buffer when this returns, so the caller may reuse `src`.
  alto_staging& s = e->staging;
  cudaError_t err = cudaSuccess;
  for (size_t offset = 0, piece = 0; offset < bytes && err == cudaSuccess; ++piece) {
    const int b = static_cast<int>(piece & 1);
    const size_t n = bytes - offset < alto_staging::kBytes ? bytes - offset : alto_staging::kBytes;
    err = cudaEventSynchronize(s.drained[b]);
    if (err != cudaSuccess) break;
    std::memcpy(s.buffer[b], static_cast<const char*>(src) + offset, n);
    err = cudaMemcpyAsync(static_cast<char*>(dst) + offset, s.buffer[b], n, cudaMemcpyHostToDevice, e->stream);
    if (err == cudaSuccess) err = cudaEventRecord(s.drained[b], e->stream);
    offset += n;
  }
  return engine_status(e, err, "upload");
}

extern "C" alto_status alto_engine_download(alto_engine* e, void* dst, const void* src, size_t bytes) {
  if (alto_status st = engine_enter(e); st != ALTO_OK) return st;
  cudaError_t err = cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, e->stream);
  if (err == cudaSuccess) err = cudaStreamSynchronize(e->stream);
  return engine_status(e, err, "download");
}

extern "C" alto_status alto_engine_copy(alto_engine* e, void* dst, const void* src, size_t bytes) {
  if (alto_status st = engine_enter(e); st != ALTO_OK) return st;
  return engine_status(e, cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, e->stream), "copy");
}

extern "C" alto_status alto_engine_sync(alto_engine* e) {
  if (alto_status st = engine_enter(e); st != ALTO_OK) return st;
  return engine_status(e, cudaStreamSynchronize(e->stream), "sync");
}

extern "C" alto_status alto_engine_mark(alto_engine* e, void** mark) {
  if (alto_status st = engine_enter(e); st != ALTO_OK) return st;
  if (!mark) return engine_invalid(e, "mark: no output pointer");
  cudaEvent_t ev = nullptr;
  cudaError_t err = cudaEventCreate(&ev);
  if (err == cudaSuccess) err = cudaEventRecord(ev, e->stream);
  if (err != cudaSuccess && ev) cudaEventDestroy(ev);
  *mark = err == cudaSuccess ? ev : nullptr;
  return engine_status(e, err, "mark");
}

extern "C" alto_status alto_engine_mark_elapsed(alto_engine* e, void* start, void* end, float* ms) {
  if (alto_status st = engine_enter(e); st != ALTO_OK) return st;
  if (!start || !end || !ms) return engine_invalid(e, "mark_elapsed: a mark or the output is missing");
  auto* a = static_cast<cudaEvent_t>(start);
  auto* b = static_cast<cudaEvent_t>(end);
  cudaError_t err = cudaEventSynchronize(b);
  if (err == cudaSuccess) err = cudaEventElapsedTime(ms, a, b);
  cudaEventDestroy(a);
  cudaEventDestroy(b);
  return engine_status(e, err, "mark_elapsed");
}

extern "C" alto_status alto_engine_mark_release(alto_engine* e, void* mark) {
  if (alto_status st = engine_enter(e); st != ALTO_OK) return st;
  return mark ? engine_status(e, cudaEventDestroy(static_cast<cudaEvent_t>(mark)), "mark_release") : ALTO_OK;
}

extern "C" alto_status alto_engine_fill(alto_engine* e, alto_elem type, void* out, double value, int64_t n) {
  if (alto_status st = engine_enter(e); st != ALTO_OK) return st;
  if (n <= 0) return ALTO_OK;
  switch (type) {
    case ALTO_ELEM_F32: fill_kernel<<<grid_for(n), 256, 0, e->stream>>>(static_cast<float*>(out), static_cast<float>(value), n); break;
    case ALTO_ELEM_I32: fill_kernel<<<grid_for(n), 256, 0, e->stream>>>(static_cast<int32_t*>(out), static_cast<int32_t>(value), n); break;
    case ALTO_ELEM_U8: fill_kernel<<<grid_for(n), 256, 0, e->stream>>>(static_cast<uint8_t*>(out), static_cast<uint8_t>(value != 0), n); break;
    default: return engine_invalid(e, "fill: unknown element type");
  }
  return engine_status(e, cudaGetLastError(), "fill");
}

extern "C" alto_status alto_engine_fill_uniform(alto_engine* e, float* out, int64_t n, uint32_t state, double lo, double hi) {
  if (alto_status st = engine_enter(e); st != ALTO_OK) return st;
  if (n <= 0) return ALTO_OK;
  fill_uniform_kernel<<<grid_for(n), 256, 0, e->stream>>>(out, n, state, lo, hi - lo);
  return engine_status(e, cudaGetLastError(), "fill_uniform");
}

extern "C" alto_status alto_engine_zero_many(alto_engine* e, float* const* ptrs, const int64_t* counts, int32_t n, int64_t max_count) {
  if (alto_status st = engine_enter(e); st != ALTO_OK) return st;
  if (n <= 0 || max_count <= 0) return ALTO_OK;
  if (n > 65535) return engine_invalid(e, "zero_many: at most 65535 arrays");
  // About 2048 blocks in all when there are many arrays, never more than one array needs.
  const unsigned x = std::min<unsigned>(grid_for(max_count), std::max(1, 2048 / n));
  zero_many_kernel<<<dim3(x, n), 256, 0, e->stream>>>(ptrs, counts);
  return engine_status(e, cudaGetLastError(), "zero_many");
}

extern "C" alto_status alto_engine_cast(alto_engine* e, alto_elem from, const void* x, alto_elem to, void* y, int64_t n) {
  if (alto_status st = engine_enter(e); st != ALTO_OK) return st;
  if (n <= 0) return ALTO_OK;
  cudaError_t err;
  switch (from) {
    case ALTO_ELEM_F32: err = cast_from(static_cast<const float*>(x), to, y, n, e->stream); break;
    case ALTO_ELEM_I32: err = cast_from(static_cast<const int32_t*>(x), to, y, n, e->stream); break;
    case ALTO_ELEM_U8: err = cast_from(static_cast<const uint8_t*>(x), to, y, n, e->stream); break;
    default: return engine_invalid(e, "cast: unknown element type");
  }
  return engine_status(e, err, "cast");
}

extern "C" alto_status alto_engine_select(alto_engine* e, alto_elem type, const uint8_t* cond, const void* a, const void* b, void* out,
                                          int64_t n) {
  if (alto_status st = engine_enter(e); st != ALTO_OK) return st;
  if (n <= 0) return ALTO_OK;
  switch (type) {
    case ALTO_ELEM_F32:
      select_kernel<<<grid_for(n), 256, 0, e->stream>>>(cond, static_cast<const float*>(a), static_cast<const float*>(b), static_cast<float*>(out), n);
      break;
    case ALTO_ELEM_I32:
      select_kernel<<<grid_for(n), 256, 0, e->stream>>>(cond, static_cast<const int32_t*>(a), static_cast<const int32_t*>(b),
                                                         static_cast<int32_t*>(out), n);
      break;
    case ALTO_ELEM_U8:
      select_kernel<<<grid_for(n), 256, 0, e->stream>>>(cond, static_cast<const uint8_t*>(a), static_cast<const uint8_t*>(b),
                                                         static_cast<uint8_t*>(out), n);
      break;
    default: return engine_invalid(e, "select: unknown element type");
  }
  return engine_status(e, cudaGetLastError(), "select");
}
