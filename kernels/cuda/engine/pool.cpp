#include "pool.h"

namespace alto::cuda {

size_t Pool::size_class(size_t bytes) {
  constexpr size_t kMin = 512;
  if (bytes <= kMin) return kMin;
  // Four classes per octave: round up to a multiple of 2^(floor(log2(bytes)) - 2).
  int top = 63 - __builtin_clzll(static_cast<unsigned long long>(bytes));
  const size_t step = size_t{1} << (top - 2);
  return (bytes + step - 1) / step * step;
}

Pool::Pool(cudaStream_t stream, bool paged)
    : stream_(stream), medium_(CudaDevice{}, kMediumRound, kMinSegment), large_(CudaDevice{}, kLargeRound, kMinSegment) {
  int device = 0;
  size_t free = 0, total = 0;
  if (!paged || cudaGetDevice(&device) != cudaSuccess || cudaMemGetInfo(&free, &total) != cudaSuccess) {
    cudaGetLastError();
    return;
  }
  const size_t chunk = CudaPages::chunk_size(device, kLargeChunk);
  if (chunk == 0) return;
  // Addresses for four times the device: holes between blocks never stop an allocation.
  paged_ = std::make_unique<PagedArena<CudaPages>>(CudaPages{device, chunk}, kLargeRound, chunk, (4 * total + chunk - 1) / chunk * chunk);
  // One block mapped and given back before any work: where reserving or mapping fails, the
  // segments serve instead.
  size_t granted = 0;
  void* probe = paged_->alloc(kMediumBelow, &granted);
  if (!probe) {
    paged_.reset();
    return;
  }
  paged_->free(probe);
  paged_->release_free_segments();
}

cudaError_t Pool::alloc(size_t bytes, void** ptr) {
  if (bytes < kMediumFrom) return alloc_small(bytes, ptr);
  const bool medium = bytes < kMediumBelow;
  const auto carve = [&](size_t* granted) {
    return medium ? medium_.alloc(bytes, granted) : paged_ ? paged_->alloc(bytes, granted) : large_.alloc(bytes, granted);
  };
  size_t granted = 0;
  *ptr = carve(&granted);
  if (!*ptr) {
    if (cudaError_t e = trim(); e != cudaSuccess) return e;
    *ptr = carve(&granted);
    if (!*ptr) return cudaErrorMemoryAllocation;
  }
  in_use_ += granted;
  grew();
  return cudaSuccess;
}

cudaError_t Pool::alloc_small(size_t bytes, void** ptr) {
  const size_t size = size_class(bytes);
  auto& free_list = cached_[size];
  if (!free_list.empty()) {
    *ptr = free_list.back();
    free_list.pop_back();
  } else {
    cudaError_t e = cudaMalloc(ptr, size);
    if (e == cudaErrorMemoryAllocation) {
      cudaGetLastError();
      if ((e = trim()) != cudaSuccess) return e;
      e = cudaMalloc(ptr, size);
    }
    if (e != cudaSuccess) return e;
    reserved_small_ += size;
  }
  live_[*ptr] = size;
  in_use_ += size;
  grew();
  return cudaSuccess;
}

bool Pool::free(void* ptr) {
  const auto it = live_.find(ptr);
  if (it == live_.end()) {
    size_t size = paged_ ? paged_->free(ptr) : large_.free(ptr);
    if (size == 0) size = medium_.free(ptr);
    in_use_ -= size;
    return size > 0;
  }
  cached_[it->second].push_back(ptr);
  in_use_ -= it->second;
  live_.erase(it);
  return true;
}

cudaError_t Pool::trim() {
  cudaError_t e = cudaStreamSynchronize(stream_);
  for (auto& [size, blocks] : cached_) {
    for (void* p : blocks) {
      const cudaError_t f = cudaFree(p);
      if (e == cudaSuccess) e = f;
      reserved_small_ -= size;
    }
    blocks.clear();
  }
  medium_.release_free_segments();
  large_.release_free_segments();
  if (paged_) paged_->release_free_segments();
  return e;
}

Pool::~Pool() {
  trim();
  for (auto& [ptr, size] : live_) cudaFree(ptr);
}

}  // namespace alto::cuda
