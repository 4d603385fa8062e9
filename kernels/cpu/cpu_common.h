// Shared pieces of the CPU kernels: work lists over row tiles, and the vector-width clones.
#pragma once
#include <cstdint>
#include <vector>

#include "alto/kernels.h"

// Hot loops are compiled twice on x86-64 (x86-64-v3, i.e. AVX2+FMA, and baseline) and picked
// at load time by CPU features, so one binary is fast on current CPUs and still runs on old
// ones. (An "arch=haswell" clone is picked by CPU model instead, and newer models miss it.)
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define ALTO_VECTOR_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define ALTO_VECTOR_CLONES
#endif

namespace alto::cpu {

// A block of consecutive rows of one segment.
struct RowTile {
  int32_t adapter;  // -1: rows without LoRA
  int32_t row0;
  int32_t rows;
};

// Segments cut into tiles of at most `tile_rows` rows; empty segments give no tile.
std::vector<RowTile> row_tiles(const alto_segments& seg, int32_t tile_rows);

// Segments of each adapter, so that one thread owns all the rows that add into one
// adapter's gradient.
std::vector<std::vector<RowTile>> segments_by_adapter(const alto_segments& seg);

}  // namespace alto::cpu
