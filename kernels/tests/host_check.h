// The tally of a native host test: check() counts and names each failure, finish() prints
// "<name>: N passed, M failed" (what the vitest wrapper reads) and gives the exit status.
#pragma once
#include <cstdio>

namespace host_check {

inline int passed = 0, failed = 0;

inline void check(bool ok, const char* what) {
  if (ok) ++passed;
  else {
    ++failed;
    std::printf("FAIL %s\n", what);
  }
}

inline int finish(const char* name) {
  std::printf("%s: %d passed, %d failed\n", name, passed, failed);
  return failed == 0 ? 0 : 1;
}

}  // namespace host_check
