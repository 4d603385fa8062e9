// Backward primitives on the CPU.
//   data:    dS = s·dY·Bᵀ (dot products with B rows), dX = dx_base + dS·Aᵀ (rows of Aᵀ)
//   weights: dA += Xᵀ·dS and dB += s·Sᵀ·dY, split by adapter and column chunk so that each
//            gradient element has exactly one writer (no atomics, deterministic sums).
#include <algorithm>
#include <cstring>

#include "microkernels.h"
#include "pack.h"

namespace alto::cpu {
namespace {

constexpr int32_t kTileRows = 16;
constexpr int32_t kColumnChunk = 128;  // gradient columns (of d_in or d_out) per task

// dS and dX for rows of one adapter.
ALTO_VECTOR_CLONES
void data_tile(const float* dY, int32_t d_out, int32_t rows, const float* B, const float* At, int32_t r, float scale, int32_t d_in,
               float* dS, int32_t ld_s, const float* dx_base, float* dX) {
  for (int32_t q0 = 0; q0 < rows; q0 += 4) {
    const int32_t n = std::min(4, rows - q0);
    const float* dy[4];
    group_rows(dY + static_cast<size_t>(q0) * d_out, d_out, n, dy);
    float* ds_rows = dS + static_cast<size_t>(q0) * ld_s;
    for (int32_t j0 = 0; j0 < r; j0 += 4) {
      const float* w[4];
      for (int j = 0; j < 4; ++j) w[j] = B + static_cast<size_t>(std::min(j0 + j, r - 1)) * d_out;
      float out[4][4];
      dot4x4(dy, w, d_out, scale, out);
      for (int q = 0; q < n; ++q)
        for (int j = 0; j < 4 && j0 + j < r; ++j) ds_rows[static_cast<size_t>(q) * ld_s + j0 + j] = out[q][j];
    }
    for (int q = 0; q < n; ++q) std::fill(ds_rows + static_cast<size_t>(q) * ld_s + r, ds_rows + static_cast<size_t>(q + 1) * ld_s, 0.0f);
    const float* s[4];
    const float* init[4] = {nullptr, nullptr, nullptr, nullptr};
    float* x[4];
    group_rows(static_cast<const float*>(ds_rows), ld_s, n, s);
    if (dx_base) group_rows(dx_base + static_cast<size_t>(q0) * d_in, d_in, n, init);
    group_rows(dX + static_cast<size_t>(q0) * d_in, d_in, n, x);
    axpy_rows4(s, r, At, d_in, d_in, 1.0f, init, x, n);
  }
}

// g[j][c0..c1) += alpha·Σ_rows s[i][j]·v[i][c] over one segment, for every j < r, storing
// into out(j, c) (dB: out[j·d + c]; dA: out[c·r + j], i.e. transposed).
ALTO_VECTOR_CLONES
void weight_tile(const float* s, int32_t ld_s, const float* v, int32_t d, int32_t rows, int32_t r, float alpha, int32_t c0, int32_t c1,
                 float* out, bool transposed) {
  auto at = [&](int32_t j, int32_t c) -> float& { return transposed ? out[static_cast<size_t>(c) * r + j] : out[static_cast<size_t>(j) * d + c]; };
  int32_t c = c0;
  for (; c + 16 <= c1; c += 16) {
    for (int32_t j0 = 0; j0 < r; j0 += 4) {
      const int idx[4] = {std::min(j0, r - 1), std::min(j0 + 1, r - 1), std::min(j0 + 2, r - 1), std::min(j0 + 3, r - 1)};
      float acc[4][16];
      outer4x16(s, ld_s, idx, v + c, d, rows, alpha, acc);
      for (int j = 0; j < 4 && j0 + j < r; ++j)
        for (int k = 0; k < 16; ++k) at(j0 + j, c + k) += acc[j][k];
    }
  }
  for (; c < c1; ++c) {
    for (int32_t j = 0; j < r; ++j) {
      float acc = 0.0f;
      for (int32_t i = 0; i < rows; ++i) acc += s[static_cast<size_t>(i) * ld_s + j] * v[static_cast<size_t>(i) * d + c];
      at(j, c) += alpha * acc;
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
  const auto At = transpose_adapters(*seg, A, d_in);
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
    const int32_t a = tile.adapter;
    data_tile(dY + row * d_out, d_out, tile.rows, B[a], At[a].data(), seg->ranks[a], seg->scales[a], d_in, dS + row * ld, ld,
              dx_base ? dx_base + row * d_in : nullptr, dX + row * d_in);
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
    for (int32_t k = 0; k < d_in; k += kColumnChunk) tasks.push_back({a, false, k, std::min(d_in, k + kColumnChunk)});
    for (int32_t n = 0; n < d_out; n += kColumnChunk) tasks.push_back({a, true, n, std::min(d_out, n + kColumnChunk)});
  }
  const int32_t ld = seg->max_rank;
#pragma omp parallel for schedule(dynamic, 1)
  for (size_t t = 0; t < tasks.size(); ++t) {
    const Task& task = tasks[t];
    const int32_t a = task.adapter, r = seg->ranks[a];
    for (const RowTile& s : owned[a]) {
      const size_t row = static_cast<size_t>(s.row0);
      if (task.is_b) weight_tile(S + row * ld, ld, dY + row * d_out, d_out, s.rows, r, seg->scales[a], task.c0, task.c1, dB[a], false);
      else weight_tile(dS + row * ld, ld, X + row * d_in, d_in, s.rows, r, 1.0f, task.c0, task.c1, dA[a], true);
    }
  }
  return ALTO_OK;
}
