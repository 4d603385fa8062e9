// A caching pool of device memory over plain cudaMalloc, for work on one stream: a freed block
// is handed out again to later work on the stream, which runs after every earlier use of it.
// Blocks under 64 KiB (scalars, indices, per-row vectors) round up to one of four classes per
// power of two and are reused within their class; larger ones are carved best-fit from
// segments of at least 64 MiB (arena.h), so that freed memory serves any later size. Blocks
// under 16 MiB (an adapter's weights, optimizer state and checkpoint copies, which outlive
// steps: about a thousand blocks of 64 KiB to 4 MiB per adapter of a 16-layer Llama) have
// segments of their own, carved at a 4 KiB grain: one cudaMalloc each (tens of microseconds)
// would cost the host seconds while a sweep admits its adapters, and carved from the step's
// large segments, one such block left behind would split a freed multi-GiB segment and keep it
// from the next step's activations. Blocks from 16 MiB (a step's activations) are carved from
// one range of addresses mapped in 32 MiB chunks where the device allows it (paged_arena.h), so
// that the free holes between live blocks give their memory to any later block; otherwise from
// segments like the medium ones. When the device runs short, cached blocks, wholly free
// segments and the chunks of free holes are returned to it and the allocation retried once.
#pragma once
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "arena.h"
#include "paged_arena.h"
#include "vmm.h"

namespace alto::cuda {

struct CudaDevice {
  void* alloc(size_t bytes) {
    void* p = nullptr;
    if (cudaMalloc(&p, bytes) == cudaSuccess) return p;
    cudaGetLastError();
    return nullptr;
  }
  void free(void* p) { cudaFree(p); }
};

class Pool {
 public:
  static constexpr size_t kMediumFrom = size_t{64} << 10;
  static constexpr size_t kMediumRound = size_t{4} << 10;
  static constexpr size_t kMediumBelow = size_t{16} << 20;
  static constexpr size_t kLargeRound = size_t{512} << 10;
  static constexpr size_t kMinSegment = size_t{64} << 20;

  static constexpr size_t kLargeChunk = size_t{32} << 20;

  // On the current device; `paged`: large blocks from mapped chunks where the device allows it.
  Pool(cudaStream_t stream, bool paged);
  ~Pool();
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  cudaError_t alloc(size_t bytes, void** ptr);
  // False when ptr is not a live block of this pool.
  bool free(void* ptr);
  // Waits for the stream and returns every cached block and wholly free segment to the device.
  cudaError_t trim();

  uint64_t in_use() const { return in_use_; }
  uint64_t peak_in_use() const { return peak_; }
  void reset_peak() { peak_ = in_use_; }
  uint64_t reserved() const { return reserved_small_ + medium_.reserved() + (paged_ ? paged_->reserved() : large_.reserved()); }
  uint64_t live_blocks() const { return live_.size() + medium_.live_blocks() + (paged_ ? paged_->live_blocks() : large_.live_blocks()); }
  bool paged() const { return paged_ != nullptr; }

  static size_t size_class(size_t bytes);

 private:
  cudaError_t alloc_small(size_t bytes, void** ptr);

  cudaStream_t stream_;
  std::unordered_map<void*, size_t> live_;                // small block → its class size
  std::unordered_map<size_t, std::vector<void*>> cached_;  // class size → free small blocks
  Arena<CudaDevice> medium_, large_;
  std::unique_ptr<PagedArena<CudaPages>> paged_;  // large blocks when set, else large_
  uint64_t in_use_ = 0, reserved_small_ = 0, peak_ = 0;
  void grew() { peak_ = in_use_ > peak_ ? in_use_ : peak_; }
};

}  // namespace alto::cuda
