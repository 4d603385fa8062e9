// Host test of the paged arena (paged_arena.h) over the host's own virtual memory: addresses
// reserved with no access, chunks made readable and writable when mapped and dropped
// (MADV_DONTNEED, no access) when unmapped, under a limit on the bytes mapped at once. A block
// used while not mapped faults; one whose chunk was wrongly dropped reads back zeros, which the
// tags written into live blocks catch. Prints "paged_arena_test: N passed, M failed".
#include <sys/mman.h>

#include <cstdint>
#include <cstring>
#include <map>
#include <random>
#include <vector>

#include "arena.h"
#include "host_check.h"
#include "paged_arena.h"

namespace {

constexpr size_t KiB = size_t{1} << 10, MiB = size_t{1} << 20;

struct HostPages {
  size_t* limit;  // bytes that may be mapped at once
  size_t* held;
  std::map<char*, std::pair<size_t, uint64_t>>* maps;  // chunk → its size and handle
  uint64_t* next_handle;
  char* reserve(size_t bytes) {
    void* p = mmap(nullptr, bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    return p == MAP_FAILED ? nullptr : static_cast<char*>(p);
  }
  void unreserve(char* p, size_t bytes) { munmap(p, bytes); }
  uint64_t map(char* at, size_t bytes) {
    if (*held + bytes > *limit || maps->count(at) || mprotect(at, bytes, PROT_READ | PROT_WRITE) != 0) return 0;
    *held += bytes;
    (*maps)[at] = {bytes, ++*next_handle};
    return *next_handle;
  }
  void unmap(char* at, size_t bytes, uint64_t handle) {
    auto it = maps->find(at);
    if (it == maps->end() || it->second != std::make_pair(bytes, handle)) std::abort();  // only what map gave
    maps->erase(it);
    madvise(at, bytes, MADV_DONTNEED);
    mprotect(at, bytes, PROT_NONE);
    *held -= bytes;
  }
};

struct World {
  explicit World(size_t bytes) : limit(bytes) {}
  size_t limit, held = 0;
  std::map<char*, std::pair<size_t, uint64_t>> maps;
  uint64_t next_handle = 0;
  HostPages pages() { return HostPages{&limit, &held, &maps, &next_handle}; }
};

// Writes `tag` into a block's first and last bytes and one byte in every 4 KiB page of it.
void stamp(char* p, size_t n, char tag) {
  for (size_t i = 0; i < n; i += 4 * KiB) p[i] = tag;
  p[n - 1] = tag;
}
bool stamped(const char* p, size_t n, char tag) {
  for (size_t i = 0; i < n; i += 4 * KiB)
    if (p[i] != tag) return false;
  return p[n - 1] == tag;
}

using host_check::check;

}  // namespace

int main() {
  {  // The walk-through of paged_arena.h: chunks of 4 MiB, blocks rounded to 1 MiB.
    World w(64 * MiB);
    alto::cuda::PagedArena<HostPages> arena(w.pages(), MiB, 4 * MiB, 256 * MiB);
    size_t g = 0;
    char* a = static_cast<char*>(arena.alloc(6 * MiB, &g));
    check(a && g == 6 * MiB && arena.reserved() == 8 * MiB && w.held == 8 * MiB, "alloc 6 maps chunks 0 and 1");
    char* b = static_cast<char*>(arena.alloc(6 * MiB, &g));
    check(b == a + 6 * MiB && arena.reserved() == 12 * MiB, "alloc 6 after it maps chunk 2 only");
    stamp(b, 6 * MiB, 'b');
    check(arena.free(a) == 6 * MiB, "free returns the block's size");
    check(arena.release_free_segments() == 4 * MiB && !arena.mapped(a) && arena.mapped(a + 4 * MiB), "release unmaps chunk 0, keeps chunk 1 (shared with the live block)");
    check(stamped(b, 6 * MiB, 'b'), "the live block keeps its bytes");
    char* c = static_cast<char*>(arena.alloc(3 * MiB, &g));
    check(c == a && arena.mapped(a) && w.held == 12 * MiB, "the hole is reused and its chunk mapped again");
    stamp(c, 3 * MiB, 'c');
    arena.free(b);
    arena.free(c);
    check(arena.free(c) == 0, "a second free of a block is refused");
    arena.release_free_segments();
    check(w.held == 0 && arena.reserved() == 0 && arena.free_blocks() == 1, "all free: every chunk back, one free range");
  }

  {  // Holes between live blocks serve a larger block: segments cannot, chunks can.
    World w(64 * MiB);
    alto::cuda::PagedArena<HostPages> arena(w.pages(), MiB, 2 * MiB, 1024 * MiB);
    std::vector<char*> blocks;
    size_t g = 0;
    for (int i = 0; i < 8; ++i) blocks.push_back(static_cast<char*>(arena.alloc(8 * MiB, &g)));
    for (int i = 0; i < 8; ++i) stamp(blocks[i], 8 * MiB, static_cast<char>('0' + i));
    for (int i = 0; i < 8; i += 2) arena.free(blocks[i]);
    check(w.held == 64 * MiB, "eight blocks of 8 MiB fill the device; four freed stay mapped");
    const size_t live_before = arena.live_blocks();
    check(arena.alloc(24 * MiB, &g) == nullptr && arena.live_blocks() == live_before, "24 MiB fits no hole and the device is full: refused, nothing left behind");
    check(arena.release_free_segments() == 32 * MiB && w.held == 32 * MiB, "the four holes give their chunks back");
    char* big = static_cast<char*>(arena.alloc(24 * MiB, &g));
    check(big != nullptr && w.held == 56 * MiB, "then 24 MiB is mapped past the live blocks");
    stamp(big, 24 * MiB, 'B');
    bool kept = true;
    for (int i = 1; i < 8; i += 2) kept = kept && stamped(blocks[i], 8 * MiB, static_cast<char>('0' + i));
    check(kept, "the live blocks kept their bytes through it");

    // The same traffic on separate segments (arena.h) under the same limit fails.
    struct Segments {
      size_t* held;
      size_t limit;
      void* alloc(size_t n) {
        if (*held + n > limit) return nullptr;
        *held += n;
        return new char[n];
      }
      void free(void* p) { delete[] static_cast<char*>(p); }
    };
    size_t held = 0;
    alto::cuda::Arena<Segments> segments(Segments{&held, 64 * MiB}, MiB, 8 * MiB);
    std::vector<void*> s;
    for (int i = 0; i < 8; ++i) s.push_back(segments.alloc(8 * MiB, &g));
    for (int i = 0; i < 8; i += 2) segments.free(s[i]);
    segments.release_free_segments();
    check(segments.alloc(24 * MiB, &g) == nullptr, "(with segments, 32 MiB free in holes cannot hold 24 MiB)");
    for (int i = 1; i < 8; i += 2) segments.free(s[i]);
  }

  {  // Random traffic under a tight limit, as steps of changing rows make it.
    World w(48 * MiB);
    alto::cuda::PagedArena<HostPages> arena(w.pages(), 4 * KiB, 64 * KiB, 4096 * MiB);
    std::mt19937_64 rng(11);
    struct Live { char* p; size_t asked, granted; char tag; };
    std::vector<Live> live;
    size_t live_bytes = 0, refused = 0, served_after_release = 0;
    bool ok = true, bounded = true;
    for (int it = 0; it < 20000 && ok; ++it) {
      if (live.empty() || rng() % 100 < 52) {
        const size_t asked = 4 * KiB + rng() % (3 * MiB);
        size_t granted = 0;
        char* p = static_cast<char*>(arena.alloc(asked, &granted));
        if (!p) {  // what the pool does: give back free chunks and try once more
          arena.release_free_segments();
          p = static_cast<char*>(arena.alloc(asked, &granted));
          if (p) ++served_after_release;
        }
        if (!p) {  // still no room: free half, as the trainer's retry with fewer rows would
          ++refused;
          ok = ok && live_bytes + asked + 2 * 64 * KiB > w.limit - live.size() * 2 * 64 * KiB;  // refused only when nearly full
          for (size_t k = 0; k < live.size() / 2; ++k) {
            ok = ok && stamped(live.back().p, live.back().asked, live.back().tag) && arena.free(live.back().p) == live.back().granted;
            live_bytes -= live.back().granted;
            live.pop_back();
          }
          continue;
        }
        ok = ok && granted >= asked && arena.mapped(p) && arena.mapped(p + granted - 1);
        const char tag = static_cast<char>(rng());
        stamp(p, asked, tag);
        live.push_back({p, asked, granted, tag});
        live_bytes += granted;
      } else {
        const size_t k = rng() % live.size();
        const Live l = live[k];
        ok = ok && stamped(l.p, l.asked, l.tag) && arena.free(l.p) == l.granted;
        live_bytes -= l.granted;
        live[k] = live.back();
        live.pop_back();
      }
      bounded = bounded && w.held <= w.limit && w.held == arena.reserved();
    }
    check(ok, "20k random allocations: each mapped and as large as asked, none overwritten or dropped, refused only near the limit");
    check(bounded, "the bytes mapped never pass the limit and match reserved()");
    check(refused > 0 && served_after_release > 0, "the limit was reached, and releasing free chunks served allocations");
    check(arena.live_blocks() == live.size(), "the live count matches");
    for (const Live& l : live) arena.free(l.p);
    arena.release_free_segments();
    check(w.held == 0 && arena.reserved() == 0 && w.maps.empty() && arena.free_blocks() == 1, "all freed and released: nothing mapped, one free range");
  }
  return host_check::finish("paged_arena_test");
}
