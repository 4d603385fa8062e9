// Tensor maps for the bulk-tensor copies (tma.cuh), encoded through the driver's entry point
// (no link against libcuda).
#pragma once
#include <cuda.h>
#include <stdint.h>

namespace alto::cuda {

// A rows × cols row-major bf16 matrix moved in boxes of box_rows × 64 with the 128-byte
// swizzle. False when the driver cannot encode it (the caller takes another kernel).
bool tma_tile_map(CUtensorMap* map, const void* ptr, int64_t rows, int64_t cols, uint32_t box_rows);

// A rows × cols row-major fp32 matrix moved in boxes of box_rows × 64, unswizzled (rows of
// 256 bytes); cols × 4 must be a multiple of 16.
bool tma_f32_map(CUtensorMap* map, const void* ptr, int64_t rows, int64_t cols, uint32_t box_rows);

// A rows × cols row-major fp32 matrix moved in boxes of box_rows × 32 (128-byte rows) with the
// 128-byte swizzle, as tma_tile_map; cols × 4 must be a multiple of 16.
bool tma_f32_tile_map(CUtensorMap* map, const void* ptr, int64_t rows, int64_t cols, uint32_t box_rows);

}  // namespace alto::cuda
