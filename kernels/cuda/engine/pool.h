// A caching pool of device memory over plain cudaMalloc. Sizes round up to one of four
// classes per power of two (so a block is reused by any request of its class); a freed
// block goes back to its class and is handed out again to later work on the same stream,
// which runs after every earlier use of it. When cudaMalloc fails, cached blocks are
// returned to the device and the allocation retried once.
#pragma once
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <vector>

namespace alto::cuda {

class Pool {
 public:
  explicit Pool(cudaStream_t stream) : stream_(stream) {}
  ~Pool();
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  cudaError_t alloc(size_t bytes, void** ptr);
  // False when ptr is not a live block of this pool.
  bool free(void* ptr);
  // Waits for the stream and returns every cached block to the device.
  cudaError_t trim();

  uint64_t in_use() const { return in_use_; }
  uint64_t reserved() const { return reserved_; }
  uint64_t live_blocks() const { return live_.size(); }

  static size_t size_class(size_t bytes);

 private:
  cudaStream_t stream_;
  std::unordered_map<void*, size_t> live_;                // block → its class size
  std::unordered_map<size_t, std::vector<void*>> cached_;  // class size → free blocks
  uint64_t in_use_ = 0, reserved_ = 0;
};

}  // namespace alto::cuda
