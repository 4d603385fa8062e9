// Best-fit blocks carved from large device segments: an allocation takes the smallest free
// block that holds it and splits off the rest; a freed block merges with free neighbours of
// its segment. Tensors of a training step change size whenever the set of adapters (so the
// rows of a step) changes; exact-size caches then miss and call the device allocator (slow)
// hundreds of times a step while holding blocks of the old sizes, whereas here any freed
// memory serves any later size.
//
// Example (round 1 MiB, segments of at least 8 MiB), sizes in MiB:
//   alloc 3 → new segment [3 used | 5 free];  alloc 2 → [3 | 2 | 3 free]
//   free the 3 → [3 free | 2 | 3 free];  alloc 4 → no free block holds 4: new segment
//   free the 2 → merged [8 free]: the whole segment, which release_free_segments returns.
//
// No device calls in here: `Device` provides `void* alloc(size_t)` (nullptr when out of
// memory) and `void free(void*)`, so that the logic is tested on the host.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <set>
#include <unordered_map>
#include <vector>

namespace alto::cuda {

template <class Device>
class Arena {
 public:
  Arena(Device device, size_t round, size_t min_segment) : device_(device), round_(round), min_segment_(min_segment) {}
  ~Arena() {
    for (char* s : segments_) device_.free(s);
    for (Block* b : free_) delete b;
    for (auto& [p, b] : live_) delete b;
  }
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;

  // A block of at least `bytes` (its size in *granted); nullptr when the device has no room.
  void* alloc(size_t bytes, size_t* granted) {
    const size_t size = round_up(bytes == 0 ? 1 : bytes, round_);
    Block key{nullptr, size, true, nullptr, nullptr};
    auto it = free_.lower_bound(&key);
    Block* b;
    if (it != free_.end()) {
      b = *it;
      free_.erase(it);
    } else {
      const size_t seg = size < min_segment_ ? min_segment_ : size;
      char* p = static_cast<char*>(device_.alloc(seg));
      if (!p) return nullptr;
      segments_.push_back(p);
      reserved_ += seg;
      b = new Block{p, seg, true, nullptr, nullptr};
    }
    if (b->size - size >= round_) {
      auto* rest = new Block{b->ptr + size, b->size - size, true, b, b->next};
      if (b->next) b->next->prev = rest;
      b->next = rest;
      b->size = size;
      free_.insert(rest);
    }
    b->free = false;
    live_[b->ptr] = b;
    *granted = b->size;
    return b->ptr;
  }

  // The freed block's size; 0 when `p` is not a live block of this arena.
  size_t free(void* p) {
    auto it = live_.find(p);
    if (it == live_.end()) return 0;
    Block* b = it->second;
    live_.erase(it);
    const size_t size = b->size;
    b->free = true;
    if (Block* n = b->next; n && n->free) {
      free_.erase(n);
      absorb_next(b);
    }
    if (Block* q = b->prev; q && q->free) {
      free_.erase(q);
      absorb_next(q);
      b = q;
    }
    free_.insert(b);
    return size;
  }

  // Returns every wholly free segment to the device; the bytes returned.
  size_t release_free_segments() {
    size_t released = 0;
    for (auto it = free_.begin(); it != free_.end();) {
      Block* b = *it;
      if (b->prev || b->next) {
        ++it;
        continue;
      }
      it = free_.erase(it);
      for (size_t k = 0; k < segments_.size(); ++k) {
        if (segments_[k] == b->ptr) {
          segments_[k] = segments_.back();
          segments_.pop_back();
          break;
        }
      }
      device_.free(b->ptr);
      released += b->size;
      reserved_ -= b->size;
      delete b;
    }
    return released;
  }

  // Calls f(ptr, size) for every free block.
  template <class F>
  void for_each_free(F&& f) const {
    for (const Block* b : free_) f(b->ptr, b->size);
  }

  size_t reserved() const { return reserved_; }
  size_t segments() const { return segments_.size(); }
  size_t live_blocks() const { return live_.size(); }
  size_t free_blocks() const { return free_.size(); }

 private:
  struct Block {
    char* ptr;
    size_t size;
    bool free;
    Block* prev;  // neighbours in the same segment, by address
    Block* next;
  };
  struct BySize {
    bool operator()(const Block* a, const Block* b) const {
      return a->size != b->size ? a->size < b->size : std::less<const char*>()(a->ptr, b->ptr);
    }
  };
  static size_t round_up(size_t n, size_t to) { return (n + to - 1) / to * to; }
  // `a` takes in the block after it, which is deleted (neither may be in free_ meanwhile).
  static void absorb_next(Block* a) {
    Block* n = a->next;
    a->size += n->size;
    a->next = n->next;
    if (n->next) n->next->prev = a;
    delete n;
  }

  Device device_;
  size_t round_, min_segment_;
  std::set<Block*, BySize> free_;
  std::unordered_map<void*, Block*> live_;
  std::vector<char*> segments_;
  size_t reserved_ = 0;
};

}  // namespace alto::cuda
