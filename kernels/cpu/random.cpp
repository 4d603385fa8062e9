// Random fills for weight initialisation (near-normal and uniform), multi-threaded and bit for
// bit what @alto/core's Rng gives one draw at a time. Its generator (mulberry32) keeps a 32-bit counter
// that advances by a constant per draw, so draw i depends on i alone and any range of draws
// can be computed on its own: the threads split the array.
#include <cstdint>

#include "alto/kernels.h"

namespace {

constexpr uint32_t kStep = 0x6d2b79f5u;

// The 32-bit output of the draw whose counter is `s`.
inline uint32_t mix(uint32_t s) {
  uint32_t t = s;
  t = (t ^ (t >> 15)) * (t | 1u);
  t ^= t + (t ^ (t >> 7)) * (t | 61u);
  return t ^ (t >> 14);
}

}  // namespace

extern "C" alto_status alto_cpu_fill_near_normal(float* out, int64_t n, uint32_t state, double scale) {
  if (n < 0 || (n > 0 && !out)) return ALTO_ERR_INVALID_ARGUMENT;
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    const uint32_t u = mix(state + static_cast<uint32_t>(i + 1) * kStep);
    const int sum = static_cast<int>((u & 255u) + ((u >> 8) & 255u) + ((u >> 16) & 255u) + (u >> 24));
    out[i] = static_cast<float>(static_cast<double>(sum - 510) * scale);
  }
  return ALTO_OK;
}

extern "C" alto_status alto_cpu_fill_uniform(float* out, int64_t n, uint32_t state, double lo, double hi) {
  if (n < 0 || (n > 0 && !out)) return ALTO_ERR_INVALID_ARGUMENT;
  const double span = hi - lo;
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    const double u = static_cast<double>(mix(state + static_cast<uint32_t>(i + 1) * kStep)) / 4294967296.0;
    out[i] = static_cast<float>(lo + span * u);
  }
  return ALTO_OK;
}
