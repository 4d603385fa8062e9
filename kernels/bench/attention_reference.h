// The float64 reference of the attention bench's check (attention_bench.cu): causal attention
// with grouped heads and its gradients, written out plainly.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace attention_ref {

struct Shape {
  int64_t batch, heads, kv_heads, seq, head_dim;
  int64_t q_elems() const { return batch * heads * seq * head_dim; }
  int64_t kv_elems() const { return batch * kv_heads * seq * head_dim; }
};

// The reference in float64: o, dq, dk, dv of causal attention with grouped heads.
struct Reference {
  std::vector<double> o, dq, dk, dv;
};
inline Reference reference(const Shape& s, const std::vector<float>& q, const std::vector<float>& k, const std::vector<float>& v, const std::vector<float>& dO, double scale) {
  const int64_t T = s.seq, D = s.head_dim, group = s.heads / s.kv_heads;
  Reference r{std::vector<double>(s.q_elems()), std::vector<double>(s.q_elems()), std::vector<double>(s.kv_elems()), std::vector<double>(s.kv_elems())};
  std::vector<double> P(T * T), dS(T * T);
  for (int64_t bb = 0; bb < s.batch; ++bb) {
    for (int64_t h = 0; h < s.heads; ++h) {
      const int64_t qh = (bb * s.heads + h) * T * D, kh = (bb * s.kv_heads + h / group) * T * D;
      for (int64_t i = 0; i < T; ++i) {
        double mx = -INFINITY, sum = 0.0;
        for (int64_t j = 0; j <= i; ++j) {
          double dot = 0.0;
          for (int64_t c = 0; c < D; ++c) dot += double(q[qh + i * D + c]) * k[kh + j * D + c];
          P[i * T + j] = scale * dot;
          mx = std::max(mx, P[i * T + j]);
        }
        for (int64_t j = 0; j <= i; ++j) sum += (P[i * T + j] = std::exp(P[i * T + j] - mx));
        for (int64_t j = 0; j <= i; ++j) P[i * T + j] /= sum;
        for (int64_t c = 0; c < D; ++c) {
          double acc = 0.0;
          for (int64_t j = 0; j <= i; ++j) acc += P[i * T + j] * v[kh + j * D + c];
          r.o[qh + i * D + c] = acc;
        }
      }
      // dS = P ∘ (dO·vᵀ − rowsum(dO ∘ o)); dq = scale·dS·k; dk += scale·dSᵀ·q; dv += Pᵀ·dO.
      for (int64_t i = 0; i < T; ++i) {
        double delta = 0.0;
        for (int64_t c = 0; c < D; ++c) delta += double(dO[qh + i * D + c]) * r.o[qh + i * D + c];
        for (int64_t j = 0; j <= i; ++j) {
          double dp = 0.0;
          for (int64_t c = 0; c < D; ++c) dp += double(dO[qh + i * D + c]) * v[kh + j * D + c];
          dS[i * T + j] = P[i * T + j] * (dp - delta);
        }
      }
      for (int64_t i = 0; i < T; ++i) {
        for (int64_t j = 0; j <= i; ++j) {
          for (int64_t c = 0; c < D; ++c) {
            r.dq[qh + i * D + c] += scale * dS[i * T + j] * k[kh + j * D + c];
            r.dk[kh + j * D + c] += scale * dS[i * T + j] * q[qh + i * D + c];
            r.dv[kh + j * D + c] += P[i * T + j] * dO[qh + i * D + c];
          }
        }
      }
    }
  }
  return r;
}

}  // namespace attention_ref
