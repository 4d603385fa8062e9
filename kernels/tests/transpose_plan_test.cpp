// Host test of the engine's transpose plan (transpose_plan.h): for random shapes (sizes 1 to
// 7, ranks 1 to 6), permutations, element sizes and buffer offsets, the units the kernel would
// move — y[i] = x[transpose_source_row(row) + c] for every unit i, exactly as layout.cu runs it —
// must give the plain per-element transpose, byte for byte; and the attention heads' case must
// move 16-byte units. Prints "transpose_plan_test: N passed, M failed".
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

#include "host_check.h"
#include "transpose_plan.h"

namespace {

using host_check::check;

// The kernel's loop on the host, over units of p.unit_bytes.
void run_plan(const alto::engine::TransposePlan& p, const unsigned char* x, unsigned char* y) {
  const int64_t u = p.unit_bytes;
  for (int64_t i = 0; i < p.rows * p.row_units; ++i) {
    const int64_t row = i / p.row_units;
    const int64_t src = alto::engine::transpose_source_row<int64_t>(p, row) + (i - row * p.row_units);
    std::memcpy(y + i * u, x + src * u, u);
  }
}

// y[out index] = x[source index], element by element.
void plain_transpose(const std::vector<int64_t>& shape, const std::vector<int32_t>& perm, int elem, const unsigned char* x, unsigned char* y) {
  const int rank = static_cast<int>(shape.size());
  std::vector<int64_t> stride(rank), out_shape(rank);
  int64_t n = 1;
  for (int d = rank - 1; d >= 0; --d) {
    stride[d] = n;
    n *= shape[d];
  }
  for (int d = 0; d < rank; ++d) out_shape[d] = shape[perm[d]];
  for (int64_t i = 0; i < n; ++i) {
    int64_t rest = i, src = 0;
    for (int d = rank - 1; d >= 0; --d) {
      src += (rest % out_shape[d]) * stride[perm[d]];
      rest /= out_shape[d];
    }
    std::memcpy(y + i * elem, x + src * elem, elem);
  }
}

bool transposes_right(const std::vector<int64_t>& shape, const std::vector<int32_t>& perm, int elem, size_t x_off, size_t y_off, std::mt19937& rng,
                      int* unit = nullptr) {
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  const size_t bytes = static_cast<size_t>(n) * elem;
  // 16-byte aligned storage, then the requested offsets.
  std::vector<unsigned char> xs(bytes + 32), ys(bytes + 32, 0xAB), want(bytes, 0xCD);
  auto align16 = [](unsigned char* p) { return reinterpret_cast<unsigned char*>((reinterpret_cast<uintptr_t>(p) + 15) & ~uintptr_t(15)); };
  unsigned char* x = align16(xs.data()) + x_off;
  unsigned char* y = align16(ys.data()) + y_off;
  for (size_t i = 0; i < bytes; ++i) x[i] = static_cast<unsigned char>(rng());
  alto::engine::TransposePlan p;
  if (!alto::engine::plan_transpose(shape.data(), perm.data(), static_cast<int32_t>(shape.size()), elem, reinterpret_cast<uintptr_t>(x),
                                    reinterpret_cast<uintptr_t>(y), &p))
    return false;
  if (unit) *unit = p.unit_bytes;
  if (p.rows * p.row_units * p.unit_bytes != static_cast<int64_t>(bytes)) return false;
  if (reinterpret_cast<uintptr_t>(x) % p.unit_bytes != 0 || reinterpret_cast<uintptr_t>(y) % p.unit_bytes != 0) return false;
  run_plan(p, x, y);
  plain_transpose(shape, perm, elem, x, want.data());
  return std::memcmp(y, want.data(), bytes) == 0;
}

}  // namespace

int main() {
  std::mt19937 rng(7);
  // Attention heads: [B, T, H, dh] → [B, H, T, dh], float32, aligned: 16-byte units.
  int unit = 0;
  check(transposes_right({2, 3, 4, 8}, {0, 2, 1, 3}, 4, 0, 0, rng, &unit) && unit == 16, "[2,3,4,8] by (0,2,1,3), float32");
  check(transposes_right({2, 5, 4, 64}, {0, 2, 1, 3}, 4, 0, 0, rng, &unit) && unit == 16, "[2,5,4,64] by (0,2,1,3), float32");
  check(transposes_right({2, 3, 4, 8}, {0, 2, 1, 3}, 4, 4, 8, rng, &unit) && unit == 4, "misaligned buffers take 4-byte units");
  // Identity and size-1 dims merge into one copy.
  check(transposes_right({3, 1, 5, 2}, {0, 1, 2, 3}, 4, 0, 0, rng), "identity");
  check(transposes_right({3, 1, 5, 2}, {1, 0, 2, 3}, 4, 0, 0, rng), "a size-1 dim moved");
  // A matrix transpose: one element a unit.
  check(transposes_right({7, 5}, {1, 0}, 4, 0, 0, rng, &unit) && unit == 4, "[7,5] by (1,0)");
  check(transposes_right({7, 5}, {1, 0}, 8, 0, 0, rng, &unit) && unit == 8, "[7,5] by (1,0), 8-byte elements");
  check(transposes_right({7, 5}, {1, 0}, 1, 0, 0, rng, &unit) && unit == 1, "[7,5] by (1,0), bytes");
  // The engine's largest rank, dims reversed.
  std::vector<int64_t> twelve(12, 2);
  std::vector<int32_t> reversed(12);
  for (int d = 0; d < 12; ++d) reversed[d] = 11 - d;
  check(transposes_right(twelve, reversed, 4, 0, 0, rng), "rank 12, reversed");
  // Invalid permutations are refused.
  alto::engine::TransposePlan p;
  const int64_t shape[2] = {2, 3};
  const int32_t dup[2] = {0, 0}, out_of_range[2] = {0, 2};
  check(!alto::engine::plan_transpose(shape, dup, 2, 4, 0, 0, &p), "a repeated dim is refused");
  check(!alto::engine::plan_transpose(shape, out_of_range, 2, 4, 0, 0, &p), "a dim out of range is refused");
  // Random shapes, permutations, element sizes and offsets.
  int random_ok = 0;
  const int random_cases = 3000;
  for (int c = 0; c < random_cases; ++c) {
    const int rank = 1 + static_cast<int>(rng() % 6);
    std::vector<int64_t> shape(rank);
    for (auto& s : shape) s = 1 + static_cast<int64_t>(rng() % 7);
    std::vector<int32_t> perm(rank);
    for (int d = 0; d < rank; ++d) perm[d] = d;
    std::shuffle(perm.begin(), perm.end(), rng);
    const int elems[3] = {1, 4, 8};
    const int elem = elems[rng() % 3];
    const size_t offsets[4] = {0, 0, 4, 8};
    if (transposes_right(shape, perm, elem, offsets[rng() % 4], offsets[rng() % 4], rng)) ++random_ok;
    else std::printf("  case %d: rank %d, elem %d\n", c, rank, elem);
  }
  check(random_ok == random_cases, "random shapes, permutations, element sizes and offsets");
  return host_check::finish("transpose_plan_test");
}
