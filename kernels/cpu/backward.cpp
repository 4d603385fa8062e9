// Backward primitives on the CPU.
//   data:    dS = s·dY·Bᵀ (row tiles), dX = dx_base + dS·Aᵀ
//   weights: dA += Xᵀ·dS and dB += s·Sᵀ·dY, split by adapter and column chunk so that each
//            gradient element has exactly one writer (no atomics, deterministic sums).
#include <algorithm>
#include <cstring>

#include "cpu_common.h"

namespace alto::cpu {
namespace {

constexpr int32_t kTileRows = 16;
constexpr int32_t kGroup = 4;
constexpr int32_t kInChunk = 64;    // dA rows per task
constexpr int32_t kOutChunk = 256;  // dB columns per task

// dS[q, j] = scale·dY[q, :]·B[j, :] for q < rows, j < r; zero for j >= r.
ALTO_VECTOR_CLONES
void ds_group(const float* dY, int32_t d_out, int32_t rows, const float* B, int32_t r, float scale, float* dS, int32_t ld_s) {
  for (int32_t j = 0; j < r; ++j) {
    const float* b = B + static_cast<size_t>(j) * d_out;
    float sum[kGroup] = {0, 0, 0, 0};
    for (int32_t q = 0; q < rows; ++q) {
      const float* dy = dY + static_cast<size_t>(q) * d_out;
      float acc = 0.0f;
#pragma omp simd reduction(+ : acc)
      for (int32_t n = 0; n < d_out; ++n) acc += dy[n] * b[n];
      sum[q] = acc;
    }
    for (int32_t q = 0; q < rows; ++q) dS[static_cast<size_t>(q) * ld_s + j] = scale * sum[q];
  }
  for (int32_t q = 0; q < rows; ++q) std::fill(dS + static_cast<size_t>(q) * ld_s + r, dS + static_cast<size_t>(q + 1) * ld_s, 0.0f);
}

// dX[q, k] = dx_base[q, k] + dS[q, 0..r)·A[k, 0..r) for q < rows.
ALTO_VECTOR_CLONES
void dx_group(const float* dS, int32_t ld_s, int32_t rows, const float* A, int32_t r, int32_t d_in,
              const float* dx_base, float* dX) {
  for (int32_t k = 0; k < d_in; ++k) {
    const float* a = A + static_cast<size_t>(k) * r;
    for (int32_t q = 0; q < rows; ++q) {
      const float* ds = dS + static_cast<size_t>(q) * ld_s;
      float acc = 0.0f;
#pragma omp simd reduction(+ : acc)
      for (int32_t j = 0; j < r; ++j) acc += ds[j] * a[j];
      const size_t at = static_cast<size_t>(q) * d_in + k;
      dX[at] = (dx_base ? dx_base[at] : 0.0f) + acc;
    }
  }
}

// dA[k0..k1, :] += Σ_rows X[i, k]·dS[i, :] over one segment.
ALTO_VECTOR_CLONES
void da_chunk(const float* X, int32_t d_in, const float* dS, int32_t ld_s, int32_t rows, int32_t r,
              int32_t k0, int32_t k1, float* dA) {
  for (int32_t i = 0; i < rows; ++i) {
    const float* x = X + static_cast<size_t>(i) * d_in;
    const float* ds = dS + static_cast<size_t>(i) * ld_s;
    for (int32_t k = k0; k < k1; ++k) {
      const float c = x[k];
      float* out = dA + static_cast<size_t>(k) * r;
#pragma omp simd
      for (int32_t j = 0; j < r; ++j) out[j] += c * ds[j];
    }
  }
}

// dB[:, n0..n1) += scale·Σ_rows S[i, j]·dY[i, n] over one segment.
ALTO_VECTOR_CLONES
void db_chunk(const float* S, int32_t ld_s, const float* dY, int32_t d_out, int32_t rows, int32_t r, float scale,
              int32_t n0, int32_t n1, float* dB) {
  for (int32_t i = 0; i < rows; ++i) {
    const float* dy = dY + static_cast<size_t>(i) * d_out;
    const float* s = S + static_cast<size_t>(i) * ld_s;
    for (int32_t j = 0; j < r; ++j) {
      const float c = scale * s[j];
      float* out = dB + static_cast<size_t>(j) * d_out;
#pragma omp simd
      for (int32_t n = n0; n < n1; ++n) out[n] += c * dy[n];
    }
  }
}

}  // namespace
}  // namespace alto::cpu

using namespace alto::cpu;

extern "C" alto_status alto_cpu_backward_data(const alto_segments* seg, const float* dY, int32_t d_out,
                                              const float* const* B, const float* const* A, int32_t d_in,
                                              float* dS, const float* dx_base, float* dX) {
  if (alto_status st = alto_cpu_validate(seg); st != ALTO_OK) return st;
  if (d_in < 1 || d_out < 1 || (seg->total_rows > 0 && (!dY || !dS || !dX)) || (seg->num_adapters > 0 && (!A || !B))) {
    return ALTO_ERR_INVALID_ARGUMENT;
  }
  const std::vector<RowTile> tiles = row_tiles(*seg, kTileRows);
  const int32_t ld = seg->max_rank;
#pragma omp parallel for schedule(dynamic, 1)
  for (size_t t = 0; t < tiles.size(); ++t) {
    const RowTile& tile = tiles[t];
    const size_t row = static_cast<size_t>(tile.row0);
    if (tile.adapter < 0) {
      std::fill(dS + row * ld, dS + (row + tile.rows) * ld, 0.0f);
      float* out = dX + row * d_in;
      const size_t n = static_cast<size_t>(tile.rows) * d_in;
      if (!dx_base) std::fill(out, out + n, 0.0f);
      else if (dx_base != dX) std::memcpy(out, dx_base + row * d_in, sizeof(float) * n);
      continue;
    }
    const int32_t a = tile.adapter, r = seg->ranks[a];
    for (int32_t q = 0; q < tile.rows; q += kGroup) {
      const size_t i = row + q;
      const int32_t rows = std::min(kGroup, tile.rows - q);
      ds_group(dY + i * d_out, d_out, rows, B[a], r, seg->scales[a], dS + i * ld, ld);
      dx_group(dS + i * ld, ld, rows, A[a], r, d_in, dx_base ? dx_base + i * d_in : nullptr, dX + i * d_in);
    }
  }
  return ALTO_OK;
}

extern "C" alto_status alto_cpu_backward_weights(const alto_segments* seg, const float* X, int32_t d_in,
                                                 const float* dY, int32_t d_out, const float* S,
                                                 const float* dS, float* const* dA, float* const* dB) {
  if (alto_status st = alto_cpu_validate(seg); st != ALTO_OK) return st;
  if (d_in < 1 || d_out < 1 || (seg->total_rows > 0 && (!X || !dY || !S || !dS)) || (seg->num_adapters > 0 && (!dA || !dB))) {
    return ALTO_ERR_INVALID_ARGUMENT;
  }
  const std::vector<std::vector<RowTile>> owned = segments_by_adapter(*seg);
  struct Task { int32_t adapter; bool is_b; int32_t c0, c1; };
  std::vector<Task> tasks;
  for (int32_t a = 0; a < seg->num_adapters; ++a) {
    if (owned[a].empty()) continue;
    for (int32_t k = 0; k < d_in; k += kInChunk) tasks.push_back({a, false, k, std::min(d_in, k + kInChunk)});
    for (int32_t n = 0; n < d_out; n += kOutChunk) tasks.push_back({a, true, n, std::min(d_out, n + kOutChunk)});
  }
  const int32_t ld = seg->max_rank;
#pragma omp parallel for schedule(dynamic, 1)
  for (size_t t = 0; t < tasks.size(); ++t) {
    const Task& task = tasks[t];
    const int32_t a = task.adapter, r = seg->ranks[a];
    for (const RowTile& s : owned[a]) {
      const size_t row = static_cast<size_t>(s.row0);
      if (task.is_b) db_chunk(S + row * ld, ld, dY + row * d_out, d_out, s.rows, r, seg->scales[a], task.c0, task.c1, dB[a]);
      else da_chunk(X + row * d_in, d_in, dS + row * ld, ld, s.rows, r, task.c0, task.c1, dA[a]);
    }
  }
  return ALTO_OK;
}
