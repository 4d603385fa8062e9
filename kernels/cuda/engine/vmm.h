// Device memory mapped in chunks into reserved addresses (the driver's virtual memory
// management), the `Pages` of paged_arena.h. The driver's entry points are looked up through
// the runtime, so nothing links libcuda and the addon still loads where the driver lacks them.
#pragma once
#include <cstddef>
#include <cstdint>

namespace alto::cuda {

struct CudaPages {
  int device = 0;
  size_t align = 0;  // of the reserved addresses: the chunk size, so that every chunk starts on the granularity

  // The chunk to map at a time: `wanted` rounded up to the device's granularity; 0 when the
  // device or its driver cannot map memory this way.
  static size_t chunk_size(int device, size_t wanted);

  char* reserve(size_t bytes);
  void unreserve(char* p, size_t bytes);
  uint64_t map(char* at, size_t bytes);
  void unmap(char* at, size_t bytes, uint64_t handle);
};

}  // namespace alto::cuda
