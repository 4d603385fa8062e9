#include "weight_grad.h"

#include <algorithm>

#include "kernels.cuh"
#include "tma_map.h"
#include "weight_grad_tma.cuh"
#include "weight_grad_tma_tf32.cuh"

namespace alto::cuda {
namespace {

bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

// Rows per work item: long enough that few items add into one gradient, short enough for about
// four items per resident block; a multiple of the kernel's step.
int32_t item_rows(int64_t T, int32_t d_in, int32_t d_out, int32_t cols, int64_t blocks, int32_t step) {
  const int64_t col_tiles = (d_in + cols - 1) / cols + (d_out + cols - 1) / cols;
  const int64_t chunk = (T * col_tiles + 4 * blocks - 1) / (4 * blocks);
  return static_cast<int32_t>(std::max<int64_t>(256, std::min<int64_t>(8192, (chunk + step - 1) / step * step)));
}

}  // namespace

cudaError_t weight_grad_tf32_launch(const alto_segments* seg, const float* X, int32_t d_in, const float* dY, int32_t d_out, const float* S,
                                    const float* dS, float* const* dA, float* const* dB, cudaStream_t stream) {
  const DeviceInfo dev = current_device();
  const int32_t ld = seg->max_rank;
  if (dev.major != 9 || seg->num_segments > kCachedSegments || ld > 64 || ld % 4 != 0 || d_in % 4 != 0 || d_out % 4 != 0 || !aligned16(X) ||
      !aligned16(dY) || !aligned16(S) || !aligned16(dS)) {
    return cudaErrorNotSupported;
  }
  CUtensorMap x_map, dy_map, ds_map, s_map;
  const int64_t T = seg->total_rows;
  if (!tma_f32_tile_map(&x_map, X, T, d_in, wgt32::kRows) || !tma_f32_tile_map(&dy_map, dY, T, d_out, wgt32::kRows) ||
      !tma_f32_tile_map(&ds_map, dS, T, ld, wgt32::kRows) || !tma_f32_tile_map(&s_map, S, T, ld, wgt32::kRows)) {
    return cudaErrorNotSupported;
  }
  const int64_t blocks = static_cast<int64_t>(wgt32::kBlocksPerSm) * dev.sms;
  const int32_t chunk = item_rows(T, d_in, d_out, wgt32::kCols, blocks, wgt32::kRows);
  const int64_t col_tiles = (d_in + wgt32::kCols - 1) / wgt32::kCols + (d_out + wgt32::kCols - 1) / wgt32::kCols;
  const int64_t grid = std::min<int64_t>(blocks, tile_bound(seg, chunk) * col_tiles);
  return launch(weight_grad_tma_tf32, dim3(static_cast<unsigned>(grid)), wgt32::kThreads, wgt32::Ring::smem_bytes(), stream, x_map, dy_map, ds_map,
                s_map, *seg, chunk, d_in, d_out, dA, dB);
}

cudaError_t weight_grad_tma_launch(const alto_segments* seg, const void* X, int32_t d_in, const void* dY, int32_t d_out, const float* S,
                                   const float* dS, void* small16, float* const* dA, float* const* dB, cudaStream_t stream) {
#ifndef ALTO_CUDA_SM90A
  (void)seg, (void)X, (void)d_in, (void)dY, (void)d_out, (void)S, (void)dS, (void)small16, (void)dA, (void)dB, (void)stream;
  return cudaErrorNotSupported;
#else
  const DeviceInfo dev = current_device();
  const int32_t ld = seg->max_rank;
  if (dev.major != 9 || dev.minor != 0 || seg->num_segments > kCachedSegments || ld > 64 || ld % 4 != 0 || d_in % 8 != 0 || d_out % 8 != 0 || !aligned16(X) || !aligned16(dY) ||
      !aligned16(S) || !aligned16(dS) || !aligned16(small16)) {
    return cudaErrorNotSupported;
  }
  CUtensorMap x_map, dy_map, ds_map, s_map;
  const int64_t T = seg->total_rows;
  bf16* s16 = static_cast<bf16*>(small16);
  bf16* ds16 = s16 + T * 64;
  if (!tma_tile_map(&x_map, X, T, d_in, wgt::kRows) || !tma_tile_map(&dy_map, dY, T, d_out, wgt::kRows) ||
      !tma_tile_map(&ds_map, ds16, T, 64, wgt::kRows) || !tma_tile_map(&s_map, s16, T, 64, wgt::kRows)) {
    return cudaErrorNotSupported;
  }
  // S and dS to bf16 once (the wgmma operands), rather than per column tile in every item.
  const int64_t pairs = T * 32;
  const unsigned convert_blocks = static_cast<unsigned>(std::min<int64_t>(4096, (pairs + 255) / 256));
  if (cudaError_t e = launch(small_to_bf16, dim3(convert_blocks, 2), 256, 0, stream, S, dS, ld, pairs, s16, ds16); e != cudaSuccess) return e;
  const int64_t blocks = static_cast<int64_t>(wgt::kBlocksPerSm) * dev.sms;
  const int32_t chunk = item_rows(T, d_in, d_out, wgt::kCols, blocks, wgt::kRows);
  const int64_t col_tiles = (d_in + wgt::kCols - 1) / wgt::kCols + (d_out + wgt::kCols - 1) / wgt::kCols;
  const int64_t chunk_bound = tile_bound(seg, chunk);
  const int64_t grid = std::min<int64_t>(blocks, chunk_bound * col_tiles);
  return launch(weight_grad_tma_bf16, dim3(static_cast<unsigned>(grid)), wgt::kThreads, wgt::Ring::smem_bytes(), stream, x_map, dy_map, ds_map, s_map,
                *seg, chunk, d_in, d_out, dA, dB);
#endif
}

}  // namespace alto::cuda
