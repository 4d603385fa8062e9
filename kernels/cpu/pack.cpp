#include "pack.h"

namespace alto::cpu {

std::vector<std::vector<float>> transpose_adapters(const alto_segments& seg, const float* const* A, int32_t d_in) {
  std::vector<char> used(seg.num_adapters, 0);
  for (int32_t g = 0; g < seg.num_segments; ++g) {
    if (seg.seg_adapter[g] >= 0 && seg.seg_offsets[g + 1] > seg.seg_offsets[g]) used[seg.seg_adapter[g]] = 1;
  }
  std::vector<std::vector<float>> out(seg.num_adapters);
#pragma omp parallel for schedule(dynamic, 1)
  for (int32_t a = 0; a < seg.num_adapters; ++a) {
    if (!used[a]) continue;
    const int32_t r = seg.ranks[a];
    std::vector<float> t(static_cast<size_t>(r) * d_in);
    for (int32_t k = 0; k < d_in; ++k)
      for (int32_t j = 0; j < r; ++j) t[static_cast<size_t>(j) * d_in + k] = A[a][static_cast<size_t>(k) * r + j];
    out[a] = std::move(t);
  }
  return out;
}

}  // namespace alto::cpu
