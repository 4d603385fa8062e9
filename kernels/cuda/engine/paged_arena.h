// Best-fit blocks in one large range of virtual addresses whose physical memory is mapped in
// chunks on demand and unmapped from free blocks when the device runs short. With separate
// segments (arena.h), free memory inside partly used segments serves only blocks that fit in
// one hole: a step of a sweep that changes its rows once saw 117 GiB in use, 135 GiB held and
// an allocation fail. Here a free hole gives its chunks back to the device, and the chunks
// are mapped again wherever the next block lands, so memory held tracks memory in use.
//
// Example (chunks of 4 MiB, sizes in MiB): alloc 6 → block [0, 6), chunks 0 and 1 mapped;
// alloc 6 → [6, 12), chunk 2 mapped (chunk 1 is shared); free the first → hole [0, 6);
// release_free_segments → chunk 0 unmapped (wholly inside the hole); chunk 1 stays, since the
// live block [6, 12) uses part of it.
//
// No device calls in here: `Pages` provides `char* reserve(size_t)`, `void unreserve(char*,
// size_t)`, `uint64_t map(char*, size_t)` (a handle, 0 when the device has no room) and
// `void unmap(char*, size_t, uint64_t)`, so that the logic is tested on the host. The caller
// makes sure no queued work still uses a free block before releasing (pool.cpp synchronizes).
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "arena.h"

namespace alto::cuda {

template <class Pages>
class PagedArena {
 public:
  // `capacity`: bytes of addresses to reserve (a multiple of `chunk`), far more than the
  // device holds, so that holes in the addresses never stop an allocation.
  PagedArena(Pages pages, size_t round, size_t chunk, size_t capacity)
      : pages_(pages), chunk_(chunk), capacity_(capacity), blocks_(Space{this}, round, capacity) {}
  PagedArena(const PagedArena&) = delete;
  PagedArena& operator=(const PagedArena&) = delete;

  // nullptr when the addresses are exhausted or the device has no room for the block's chunks
  // (what was mapped for it stays mapped and serves later blocks).
  void* alloc(size_t bytes, size_t* granted) {
    char* p = static_cast<char*>(blocks_.alloc(bytes, granted));
    if (!p) return nullptr;
    for (size_t c = (p - base_) / chunk_, end = (p - base_ + *granted + chunk_ - 1) / chunk_; c < end; ++c) {
      if (handles_[c]) continue;
      handles_[c] = pages_.map(base_ + c * chunk_, chunk_);
      if (!handles_[c]) {
        blocks_.free(p);
        return nullptr;
      }
      ++mapped_;
    }
    return p;
  }

  // The freed block's size; 0 when `p` is not a live block. Its chunks stay mapped.
  size_t free(void* p) { return blocks_.free(p); }

  // Unmaps every chunk that lies wholly inside a free block; the bytes given back.
  size_t release_free_segments() {
    size_t released = 0;
    blocks_.for_each_free([&](char* p, size_t size) {
      for (size_t c = (p - base_ + chunk_ - 1) / chunk_, end = (p - base_ + size) / chunk_; c < end; ++c) {
        if (!handles_[c]) continue;
        pages_.unmap(base_ + c * chunk_, chunk_, handles_[c]);
        handles_[c] = 0;
        --mapped_;
        released += chunk_;
      }
    });
    return released;
  }

  size_t reserved() const { return mapped_ * chunk_; }
  size_t live_blocks() const { return blocks_.live_blocks(); }
  size_t free_blocks() const { return blocks_.free_blocks(); }
  bool mapped(const void* p) const { return handles_[(static_cast<const char*>(p) - base_) / chunk_] != 0; }

 private:
  // The addresses, handed to the block logic as its one segment.
  struct Space {
    PagedArena* owner;
    void* alloc(size_t bytes) {
      if (owner->base_ || bytes != owner->capacity_) return nullptr;
      owner->base_ = owner->pages_.reserve(bytes);
      if (owner->base_) owner->handles_.assign(bytes / owner->chunk_, 0);
      return owner->base_;
    }
    void free(void* p) {
      owner->release_all();
      owner->pages_.unreserve(static_cast<char*>(p), owner->capacity_);
      owner->base_ = nullptr;
    }
  };

  void release_all() {
    for (size_t c = 0; c < handles_.size(); ++c) {
      if (handles_[c]) pages_.unmap(base_ + c * chunk_, chunk_, handles_[c]);
      handles_[c] = 0;
    }
    mapped_ = 0;
  }

  Pages pages_;
  size_t chunk_, capacity_;
  char* base_ = nullptr;
  std::vector<uint64_t> handles_;  // per chunk of the addresses: its mapping, 0 when unmapped
  size_t mapped_ = 0;
  Arena<Space> blocks_;  // last: destroyed first, it unmaps every chunk and returns the addresses through Space
};

}  // namespace alto::cuda
