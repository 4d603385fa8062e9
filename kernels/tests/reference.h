// Float64 reference of the grouped-LoRA primitives, for the native tests.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace alto::reference {

struct Problem {
  std::vector<int32_t> offsets, seg_adapter, ranks;
  std::vector<float> scales;
  int32_t d_in = 0, d_out = 0, max_rank = 0;
  int32_t rows() const { return offsets.back(); }
};

struct Outputs {
  std::vector<double> S, Y, dS, dX;
  std::vector<std::vector<double>> dA, dB;  // the gradient alone, without what it is added to
};

// X: T×d_in, base/dY: T×d_out, dx_base: T×d_in (may be empty: zero), A[a]: d_in×r, B[a]: r×d_out.
Outputs compute(const Problem& p, const std::vector<float>& X, const std::vector<float>& base, const std::vector<float>& dY,
                const std::vector<float>& dx_base, const std::vector<std::vector<float>>& A, const std::vector<std::vector<float>>& B);

}  // namespace alto::reference
