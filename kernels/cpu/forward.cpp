// Forward primitives on the CPU: shrink (S = X·A) and expand (Y = base + s·S·B).
// Work is split into row tiles of one segment, four rows at a time through the
// register-blocked loops of microkernels.h.
#include <algorithm>
#include <cstring>

#include "microkernels.h"
#include "pack.h"

namespace alto::cpu {
namespace {

constexpr int32_t kTileRows = 16;

// S rows [row, row + rows) of one adapter: dot products of X rows with Aᵀ rows.
ALTO_VECTOR_CLONES
void shrink_tile(const float* X, int32_t d_in, int32_t rows, const float* At, int32_t r, float* S, int32_t ld_s) {
  for (int32_t q0 = 0; q0 < rows; q0 += 4) {
    const int32_t n = std::min(4, rows - q0);
    const float* x[4];
    group_rows(X + static_cast<size_t>(q0) * d_in, d_in, n, x);
    for (int32_t j0 = 0; j0 < r; j0 += 4) {
      const float* w[4];
      for (int j = 0; j < 4; ++j) w[j] = At + static_cast<size_t>(std::min(j0 + j, r - 1)) * d_in;
      float out[4][4];
      dot4x4(x, w, d_in, 1.0f, out);
      for (int q = 0; q < n; ++q)
        for (int j = 0; j < 4 && j0 + j < r; ++j) S[static_cast<size_t>(q0 + q) * ld_s + j0 + j] = out[q][j];
    }
    for (int q = 0; q < n; ++q) {
      float* s = S + static_cast<size_t>(q0 + q) * ld_s;
      std::fill(s + r, s + ld_s, 0.0f);
    }
  }
}

// Y rows = base rows (none: zero) + scale·S rows·B.
ALTO_VECTOR_CLONES
void expand_tile(const float* S, int32_t ld_s, int32_t rows, const float* B, int32_t r, float scale, int32_t d_out, const float* base,
                 float* Y) {
  for (int32_t q0 = 0; q0 < rows; q0 += 4) {
    const int32_t n = std::min(4, rows - q0);
    const float* s[4];
    const float* init[4] = {nullptr, nullptr, nullptr, nullptr};
    float* y[4];
    group_rows(S + static_cast<size_t>(q0) * ld_s, ld_s, n, s);
    if (base) group_rows(base + static_cast<size_t>(q0) * d_out, d_out, n, init);
    group_rows(Y + static_cast<size_t>(q0) * d_out, d_out, n, y);
    axpy_rows4(s, r, B, d_out, d_out, scale, init, y, n);
  }
}

}  // namespace
}  // namespace alto::cpu

using namespace alto::cpu;

extern "C" alto_status alto_cpu_shrink(const alto_segments* seg, const float* X, int32_t d_in,
                                       const float* const* A, float* S) {
  if (alto_status st = alto_cpu_validate(seg); st != ALTO_OK) return st;
  if (d_in < 1 || (seg->total_rows > 0 && (!X || !S)) || (seg->num_adapters > 0 && !A)) return ALTO_ERR_INVALID_ARGUMENT;
  const auto At = transpose_adapters(*seg, A, d_in);
  const std::vector<RowTile> tiles = row_tiles(*seg, kTileRows);
  const int32_t ld = seg->max_rank;
#pragma omp parallel for schedule(dynamic, 1)
  for (size_t t = 0; t < tiles.size(); ++t) {
    const RowTile& tile = tiles[t];
    float* s = S + static_cast<size_t>(tile.row0) * ld;
    if (tile.adapter < 0) {
      std::fill(s, s + static_cast<size_t>(tile.rows) * ld, 0.0f);
      continue;
    }
    shrink_tile(X + static_cast<size_t>(tile.row0) * d_in, d_in, tile.rows, At[tile.adapter].data(), seg->ranks[tile.adapter], s, ld);
  }
  return ALTO_OK;
}

extern "C" alto_status alto_cpu_expand(const alto_segments* seg, const float* S, const float* const* B,
                                       int32_t d_out, const float* base, float* Y) {
  if (alto_status st = alto_cpu_validate(seg); st != ALTO_OK) return st;
  if (d_out < 1 || (seg->total_rows > 0 && (!S || !Y)) || (seg->num_adapters > 0 && !B)) return ALTO_ERR_INVALID_ARGUMENT;
  const std::vector<RowTile> tiles = row_tiles(*seg, kTileRows);
  const int32_t ld = seg->max_rank;
#pragma omp parallel for schedule(dynamic, 1)
  for (size_t t = 0; t < tiles.size(); ++t) {
    const RowTile& tile = tiles[t];
    const size_t row = static_cast<size_t>(tile.row0);
    if (tile.adapter < 0) {
      if (!base) std::fill(Y + row * d_out, Y + (row + tile.rows) * d_out, 0.0f);
      else if (base != Y) std::memcpy(Y + row * d_out, base + row * d_out, sizeof(float) * tile.rows * static_cast<size_t>(d_out));
      continue;
    }
    expand_tile(S + row * ld, ld, tile.rows, B[tile.adapter], seg->ranks[tile.adapter], seg->scales[tile.adapter], d_out,
                base ? base + row * d_out : nullptr, Y + row * d_out);
  }
  return ALTO_OK;
}
