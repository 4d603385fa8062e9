// Host test of the device arena's block logic (arena.h) over malloc: random allocations and
// frees against a shadow list of live blocks; every live block must stay in bounds of its
// segment, disjoint from the others, at least as large as asked; freed memory must merge back
// into whole segments. Prints "arena_test: N passed, M failed".
#include <cstdio>
#include <cstdlib>
#include <map>
#include <random>
#include <vector>

#include "arena.h"
#include "host_check.h"

namespace {

struct HostDevice {
  std::map<char*, size_t>* segments;
  size_t* limit;  // bytes the "device" may hold at once
  size_t* held;
  void* alloc(size_t n) {
    if (*held + n > *limit) return nullptr;
    char* p = static_cast<char*>(std::malloc(n));
    (*segments)[p] = n;
    *held += n;
    return p;
  }
  void free(void* p) {
    auto it = segments->find(static_cast<char*>(p));
    if (it == segments->end()) std::abort();
    *held -= it->second;
    segments->erase(it);
    std::free(p);
  }
};

using host_check::check;

}  // namespace

int main() {
  constexpr size_t MiB = size_t{1} << 20;
  std::map<char*, size_t> segments;
  size_t limit = 4096 * MiB, held = 0;
  {
    alto::cuda::Arena<HostDevice> arena(HostDevice{&segments, &limit, &held}, MiB, 8 * MiB);
    // The walk-through of arena.h.
    size_t g = 0;
    char* a = static_cast<char*>(arena.alloc(3 * MiB, &g));
    check(a && g == 3 * MiB && arena.segments() == 1 && arena.reserved() == 8 * MiB, "alloc 3 makes one 8 MiB segment");
    char* b = static_cast<char*>(arena.alloc(2 * MiB, &g));
    check(b == a + 3 * MiB && arena.segments() == 1, "alloc 2 is carved after it");
    check(arena.free(a) == 3 * MiB, "free returns the block's size");
    char* c = static_cast<char*>(arena.alloc(4 * MiB, &g));
    check(c && arena.segments() == 2, "alloc 4 fits no free block: a second segment");
    check(arena.free(b) == 2 * MiB && arena.free_blocks() == 2, "free of the 2 merges the first segment whole");
    char* d = static_cast<char*>(arena.alloc(5 * MiB + 1, &g));
    check(d == a && g == 6 * MiB, "best fit reuses the merged segment, rounded up");
    arena.free(d);
    check(arena.release_free_segments() == 8 * MiB && arena.segments() == 1, "the wholly free segment goes back");
    check(arena.free(c) == 4 * MiB && arena.free(c) == 0, "a second free of a block is refused");
    check(arena.release_free_segments() == 8 * MiB && held == 0, "and then everything is back");

    // Random traffic, as steps of changing row counts make it.
    std::mt19937_64 rng(7);
    struct Live { char* p; size_t asked, granted; unsigned char tag; };
    std::vector<Live> live;
    bool ok = true;
    for (int it = 0; it < 50000 && ok; ++it) {
      if (live.empty() || rng() % 100 < 55) {
        const size_t asked = MiB + rng() % (24 * MiB);
        size_t granted = 0;
        char* p = static_cast<char*>(arena.alloc(asked, &granted));
        if (!p) {  // out of room: free half, as the trainer's retry with fewer rows would
          for (size_t k = 0; k < live.size() / 2; ++k) {
            arena.free(live.back().p);
            live.pop_back();
          }
          arena.release_free_segments();
          continue;
        }
        ok = ok && granted >= asked;
        const unsigned char tag = static_cast<unsigned char>(rng());
        p[0] = p[asked / 2] = p[asked - 1] = static_cast<char>(tag);  // its first, middle and last byte
        live.push_back({p, asked, granted, tag});
      } else {
        const size_t k = rng() % live.size();
        Live l = live[k];
        // Nothing else wrote into it while it was live.
        ok = ok && l.p[0] == static_cast<char>(l.tag) && l.p[l.asked - 1] == static_cast<char>(l.tag) && l.p[l.asked / 2] == static_cast<char>(l.tag);
        ok = ok && arena.free(l.p) == l.granted;
        live[k] = live.back();
        live.pop_back();
      }
    }
    check(ok, "50k random allocations: each as large as asked, none overwritten by another");
    // Every live block within one segment.
    bool inside = true;
    for (const Live& l : live) {
      auto s = segments.upper_bound(l.p);
      inside = inside && s != segments.begin() && (--s, l.p + l.granted <= s->first + s->second);
    }
    check(inside, "every live block lies within one segment");
    check(arena.live_blocks() == live.size(), "the live count matches");
    for (const Live& l : live) arena.free(l.p);
    check(arena.free_blocks() == arena.segments(), "all freed: each segment is one free block again");
    arena.release_free_segments();
    check(held == 0 && arena.reserved() == 0, "and all of it goes back to the device");
  }
  check(segments.empty(), "nothing leaks");
  return host_check::finish("arena_test");
}
