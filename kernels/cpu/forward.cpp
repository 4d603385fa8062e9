// Forward primitives on the CPU: shrink (S = X·A) and expand (Y = base + s·S·B).
// Work is split into row tiles of one segment; each tile handles up to four rows at once so
// that every weight row loaded from cache serves four output rows.
#include <algorithm>
#include <cstring>

#include "cpu_common.h"

namespace alto::cpu {
namespace {

constexpr int32_t kTileRows = 16;
constexpr int32_t kGroup = 4;
constexpr int32_t kColumnChunk = 512;

// S[q, 0..r) = X[q, :]·A for q < rows (rows <= kGroup); columns r..max_rank are zeroed.
ALTO_VECTOR_CLONES
void shrink_group(const float* X, int32_t d_in, int32_t rows, const float* A, int32_t r, float* S, int32_t ld_s) {
  float acc[kGroup][ALTO_MAX_RANK];
  for (int32_t q = 0; q < kGroup; ++q) std::fill(acc[q], acc[q] + r, 0.0f);
  for (int32_t k = 0; k < d_in; ++k) {
    const float* a = A + static_cast<size_t>(k) * r;
    for (int32_t q = 0; q < rows; ++q) {
      const float x = X[static_cast<size_t>(q) * d_in + k];
      float* out = acc[q];
#pragma omp simd
      for (int32_t j = 0; j < r; ++j) out[j] += x * a[j];
    }
  }
  for (int32_t q = 0; q < rows; ++q) {
    float* s = S + static_cast<size_t>(q) * ld_s;
    std::copy(acc[q], acc[q] + r, s);
    std::fill(s + r, s + ld_s, 0.0f);
  }
}

// Y[q, :] = base[q, :] + scale·S[q, 0..r)·B for q < rows, in column chunks that stay in L1.
ALTO_VECTOR_CLONES
void expand_group(const float* S, int32_t ld_s, int32_t rows, const float* B, int32_t r, float scale,
                  int32_t d_out, const float* base, float* Y) {
  for (int32_t n0 = 0; n0 < d_out; n0 += kColumnChunk) {
    const int32_t n1 = std::min(d_out, n0 + kColumnChunk);
    for (int32_t q = 0; q < rows; ++q) {
      const float* src = base + static_cast<size_t>(q) * d_out;
      float* y = Y + static_cast<size_t>(q) * d_out;
      if (src != y) std::copy(src + n0, src + n1, y + n0);
    }
    for (int32_t j = 0; j < r; ++j) {
      const float* b = B + static_cast<size_t>(j) * d_out;
      for (int32_t q = 0; q < rows; ++q) {
        const float c = scale * S[static_cast<size_t>(q) * ld_s + j];
        float* y = Y + static_cast<size_t>(q) * d_out;
#pragma omp simd
        for (int32_t n = n0; n < n1; ++n) y[n] += c * b[n];
      }
    }
  }
}

}  // namespace
}  // namespace alto::cpu

using namespace alto::cpu;

extern "C" alto_status alto_cpu_shrink(const alto_segments* seg, const float* X, int32_t d_in,
                                       const float* const* A, float* S) {
  if (alto_status st = alto_cpu_validate(seg); st != ALTO_OK) return st;
  if (d_in < 1 || (seg->total_rows > 0 && (!X || !S)) || (seg->num_adapters > 0 && !A)) return ALTO_ERR_INVALID_ARGUMENT;
  const std::vector<RowTile> tiles = row_tiles(*seg, kTileRows);
  const int32_t ld = seg->max_rank;
#pragma omp parallel for schedule(dynamic, 1)
  for (size_t t = 0; t < tiles.size(); ++t) {
    const RowTile& tile = tiles[t];
    for (int32_t q = 0; q < tile.rows; q += kGroup) {
      const int32_t row = tile.row0 + q, rows = std::min(kGroup, tile.rows - q);
      float* s = S + static_cast<size_t>(row) * ld;
      if (tile.adapter < 0) {
        std::fill(s, s + static_cast<size_t>(rows) * ld, 0.0f);
        continue;
      }
      shrink_group(X + static_cast<size_t>(row) * d_in, d_in, rows, A[tile.adapter], seg->ranks[tile.adapter], s, ld);
    }
  }
  return ALTO_OK;
}

extern "C" alto_status alto_cpu_expand(const alto_segments* seg, const float* S, const float* const* B,
                                       int32_t d_out, const float* base, float* Y) {
  if (alto_status st = alto_cpu_validate(seg); st != ALTO_OK) return st;
  if (d_out < 1 || (seg->total_rows > 0 && (!S || !base || !Y)) || (seg->num_adapters > 0 && !B)) return ALTO_ERR_INVALID_ARGUMENT;
  const std::vector<RowTile> tiles = row_tiles(*seg, kTileRows);
  const int32_t ld = seg->max_rank;
#pragma omp parallel for schedule(dynamic, 1)
  for (size_t t = 0; t < tiles.size(); ++t) {
    const RowTile& tile = tiles[t];
    const size_t offset = static_cast<size_t>(tile.row0) * d_out;
    if (tile.adapter < 0) {
      if (base != Y) std::memcpy(Y + offset, base + offset, sizeof(float) * tile.rows * static_cast<size_t>(d_out));
      continue;
    }
    for (int32_t q = 0; q < tile.rows; q += kGroup) {
      const size_t row = static_cast<size_t>(tile.row0 + q);
      expand_group(S + row * ld, ld, std::min(kGroup, tile.rows - q), B[tile.adapter], seg->ranks[tile.adapter],
                   seg->scales[tile.adapter], d_out, base + row * d_out, Y + row * d_out);
    }
  }
  return ALTO_OK;
}
