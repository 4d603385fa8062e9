// Per-call packing of the small weight matrices into the layout the inner loops stream.
#pragma once
#include <vector>

#include "cpu_common.h"

namespace alto::cpu {

// Aᵀ of every adapter (r_a × d_in, row-major), so that shrink and dX read rank rows
// contiguously. Adapters without rows in the plan are skipped (left empty).
std::vector<std::vector<float>> transpose_adapters(const alto_segments& seg, const float* const* A, int32_t d_in);

}  // namespace alto::cpu
