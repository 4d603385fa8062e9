#include <cmath>
#include <omp.h>

#include "cpu_common.h"

extern "C" const char* alto_status_string(alto_status status) {
  switch (status) {
    case ALTO_OK: return "ok";
    case ALTO_ERR_INVALID_ARGUMENT: return "invalid argument";
    case ALTO_ERR_WORKSPACE_TOO_SMALL: return "workspace too small";
    case ALTO_ERR_UNSUPPORTED: return "unsupported by this build";
    case ALTO_ERR_CUDA: return "CUDA error";
  }
  return "unknown status";
}

extern "C" alto_status alto_cpu_validate(const alto_segments* seg) {
  if (!seg || seg->num_segments < 0 || seg->total_rows < 0) return ALTO_ERR_INVALID_ARGUMENT;
  if (seg->num_adapters < 0 || seg->num_adapters > ALTO_MAX_ADAPTERS) return ALTO_ERR_INVALID_ARGUMENT;
  if (seg->max_rank < 1 || seg->max_rank > ALTO_MAX_RANK) return ALTO_ERR_INVALID_ARGUMENT;
  if (!seg->seg_offsets || (seg->num_segments > 0 && !seg->seg_adapter)) return ALTO_ERR_INVALID_ARGUMENT;
  if (seg->num_adapters > 0 && (!seg->ranks || !seg->scales)) return ALTO_ERR_INVALID_ARGUMENT;
  if (seg->seg_offsets[0] != 0 || seg->seg_offsets[seg->num_segments] != seg->total_rows) return ALTO_ERR_INVALID_ARGUMENT;
  for (int32_t g = 0; g < seg->num_segments; ++g) {
    if (seg->seg_offsets[g + 1] < seg->seg_offsets[g]) return ALTO_ERR_INVALID_ARGUMENT;
    const int32_t a = seg->seg_adapter[g];
    if (a < -1 || a >= seg->num_adapters) return ALTO_ERR_INVALID_ARGUMENT;
  }
  for (int32_t a = 0; a < seg->num_adapters; ++a) {
    if (seg->ranks[a] < 1 || seg->ranks[a] > seg->max_rank) return ALTO_ERR_INVALID_ARGUMENT;
    if (!std::isfinite(seg->scales[a])) return ALTO_ERR_INVALID_ARGUMENT;
  }
  return ALTO_OK;
}

extern "C" void alto_cpu_set_threads(int32_t threads) {
  omp_set_num_threads(threads > 0 ? threads : omp_get_num_procs());
}

extern "C" int32_t alto_cpu_threads(void) { return omp_get_max_threads(); }

namespace alto::cpu {

std::vector<RowTile> row_tiles(const alto_segments& seg, int32_t tile_rows) {
  std::vector<RowTile> tiles;
  for (int32_t g = 0; g < seg.num_segments; ++g) {
    const int32_t begin = seg.seg_offsets[g], end = seg.seg_offsets[g + 1];
    for (int32_t r = begin; r < end; r += tile_rows) {
      tiles.push_back({seg.seg_adapter[g], r, std::min(tile_rows, end - r)});
    }
  }
  return tiles;
}

std::vector<std::vector<RowTile>> segments_by_adapter(const alto_segments& seg) {
  std::vector<std::vector<RowTile>> out(seg.num_adapters);
  for (int32_t g = 0; g < seg.num_segments; ++g) {
    const int32_t a = seg.seg_adapter[g];
    const int32_t rows = seg.seg_offsets[g + 1] - seg.seg_offsets[g];
    if (a >= 0 && rows > 0) out[a].push_back({a, seg.seg_offsets[g], rows});
  }
  return out;
}

}  // namespace alto::cpu
