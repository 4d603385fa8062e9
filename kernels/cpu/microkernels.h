// Register-blocked inner loops of the CPU kernels, written with GCC/Clang vector types so
// that each compiled clone of their callers (AVX2+FMA, baseline) keeps its accumulators in
// registers.
// Four rows at a time everywhere: callers point missing rows at a valid one and drop the
// results, so the loops have no row tails.
#pragma once
#include <cstddef>
#include <cstring>

#include "cpu_common.h"

namespace alto::cpu {

typedef float vf8 __attribute__((vector_size(32)));

// Inlined into each vector-width clone of its caller (ALTO_VECTOR_CLONES there).
#define ALTO_ALWAYS_INLINE static inline __attribute__((always_inline))

ALTO_ALWAYS_INLINE vf8 load8(const float* p) {
  vf8 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
ALTO_ALWAYS_INLINE void store8(float* p, vf8 v) { std::memcpy(p, &v, sizeof v); }
ALTO_ALWAYS_INLINE float hsum(vf8 v) {
  float s = 0;
  for (int i = 0; i < 8; ++i) s += v[i];
  return s;
}

// Row pointers of a group of up to four rows; missing rows repeat the first (results dropped).
template <typename T>
void group_rows(T* base, size_t ld, int32_t rows, T* out[4]) {
  for (int q = 0; q < 4; ++q) out[q] = base + static_cast<size_t>(q < rows ? q : 0) * ld;
}

// out[q][j] = alpha·dot(x[q][0..K), w[j][0..K)) for q < 4, j < 4: sixteen dot products
// sharing their loads (shrink with w = Aᵀ rows, dS with w = B rows).
ALTO_ALWAYS_INLINE void dot4x4(const float* const x[4], const float* const w[4], int K, float alpha, float out[4][4]) {
  vf8 acc[4][4] = {};
  int k = 0;
  for (; k + 8 <= K; k += 8) {
    const vf8 wv[4] = {load8(w[0] + k), load8(w[1] + k), load8(w[2] + k), load8(w[3] + k)};
    for (int q = 0; q < 4; ++q) {
      const vf8 xv = load8(x[q] + k);
      for (int j = 0; j < 4; ++j) acc[q][j] += xv * wv[j];
    }
  }
  for (int q = 0; q < 4; ++q)
    for (int j = 0; j < 4; ++j) {
      float s = hsum(acc[q][j]);
      for (int t = k; t < K; ++t) s += x[q][t] * w[j][t];
      out[q][j] = alpha * s;
    }
}

// y[q][0..N) = (init ? init[q] : 0) + Σ_j (alpha·s[q][j])·w[j][0..N) for q < 4, j < R: the
// expand form (expand with w = B rows, dX with w = Aᵀ rows). 16 columns per pass.
ALTO_ALWAYS_INLINE void axpy_rows4(const float* const s[4], int R, const float* w, size_t ldw, int N, float alpha, const float* const init[4],
                       float* const y[4], int rows) {
  int n = 0;
  for (; n + 16 <= N; n += 16) {
    vf8 acc[4][2];
    for (int q = 0; q < 4; ++q) {
      acc[q][0] = init[q] ? load8(init[q] + n) : vf8{};
      acc[q][1] = init[q] ? load8(init[q] + n + 8) : vf8{};
    }
    for (int j = 0; j < R; ++j) {
      const vf8 w0 = load8(w + j * ldw + n), w1 = load8(w + j * ldw + n + 8);
      for (int q = 0; q < 4; ++q) {
        const float c = alpha * s[q][j];
        acc[q][0] += c * w0;
        acc[q][1] += c * w1;
      }
    }
    for (int q = 0; q < rows; ++q) {
      store8(y[q] + n, acc[q][0]);
      store8(y[q] + n + 8, acc[q][1]);
    }
  }
  for (; n < N; ++n) {
    for (int q = 0; q < rows; ++q) {
      float acc = init[q] ? init[q][n] : 0.0f;
      for (int j = 0; j < R; ++j) acc += alpha * s[q][j] * w[j * ldw + n];
      y[q][n] = acc;
    }
  }
}

// c[j][n0..n0+16) += Σ_i (alpha·s[i][j])·v[i][n0..n0+16) for j < 4 over `rows` rows: the
// weight-gradient form (dB with s = S, v = dY; dAᵀ with s = dS, v = X). Full 16-wide panels only.
ALTO_ALWAYS_INLINE void outer4x16(const float* s, size_t lds, const int j_index[4], const float* v, size_t ldv, int rows, float alpha, float c[4][16]) {
  vf8 acc[4][2] = {};
  for (int i = 0; i < rows; ++i) {
    const float* vi = v + i * ldv;
    const vf8 v0 = load8(vi), v1 = load8(vi + 8);
    const float* si = s + i * lds;
    for (int j = 0; j < 4; ++j) {
      const float a = alpha * si[j_index[j]];
      acc[j][0] += a * v0;
      acc[j][1] += a * v1;
    }
  }
  for (int j = 0; j < 4; ++j) {
    store8(c[j], acc[j][0]);
    store8(c[j] + 8, acc[j][1]);
  }
}

}  // namespace alto::cpu
