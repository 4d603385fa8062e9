#include "reference.h"

namespace alto::reference {

Outputs compute(const Problem& p, const std::vector<float>& X, const std::vector<float>& base, const std::vector<float>& dY,
                const std::vector<float>& dx_base, const std::vector<std::vector<float>>& A, const std::vector<std::vector<float>>& B) {
  const int64_t T = p.rows(), di = p.d_in, dout = p.d_out, R = p.max_rank;
  Outputs o;
  o.S.assign(T * R, 0.0);
  o.dS.assign(T * R, 0.0);
  o.Y.assign(base.begin(), base.end());
  o.dX.assign(T * di, 0.0);
  if (!dx_base.empty()) o.dX.assign(dx_base.begin(), dx_base.end());
  o.dA.resize(p.ranks.size());
  o.dB.resize(p.ranks.size());
  for (size_t a = 0; a < p.ranks.size(); ++a) {
    o.dA[a].assign(di * p.ranks[a], 0.0);
    o.dB[a].assign(p.ranks[a] * dout, 0.0);
  }
  for (size_t g = 0; g + 1 < p.offsets.size(); ++g) {
    const int a = p.seg_adapter[g];
    if (a < 0) continue;
    const int64_t r = p.ranks[a];
    const double s = p.scales[a];
    for (int64_t i = p.offsets[g]; i < p.offsets[g + 1]; ++i) {
      for (int64_t j = 0; j < r; ++j) {
        double acc = 0, dacc = 0;
        for (int64_t k = 0; k < di; ++k) acc += double(X[i * di + k]) * A[a][k * r + j];
        for (int64_t n = 0; n < dout; ++n) dacc += double(dY[i * dout + n]) * B[a][j * dout + n];
        o.S[i * R + j] = acc;
        o.dS[i * R + j] = s * dacc;
      }
      for (int64_t n = 0; n < dout; ++n) {
        double acc = 0;
        for (int64_t j = 0; j < r; ++j) acc += o.S[i * R + j] * B[a][j * dout + n];
        o.Y[i * dout + n] += s * acc;
      }
      for (int64_t k = 0; k < di; ++k) {
        double acc = 0;
        for (int64_t j = 0; j < r; ++j) acc += o.dS[i * R + j] * A[a][k * r + j];
        o.dX[i * di + k] += acc;
      }
      for (int64_t k = 0; k < di; ++k)
        for (int64_t j = 0; j < r; ++j) o.dA[a][k * r + j] += double(X[i * di + k]) * o.dS[i * R + j];
      for (int64_t j = 0; j < r; ++j)
        for (int64_t n = 0; n < dout; ++n) o.dB[a][j * dout + n] += s * o.S[i * R + j] * dY[i * dout + n];
    }
  }
  return o;
}

}  // namespace alto::reference
