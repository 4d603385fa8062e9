#include "weight_grad.h"

#include <algorithm>

#include "kernels.cuh"
#include "tma_map.h"
#include "weight_grad_tma.cuh"

namespace alto::cuda {

cudaError_t weight_grad_tma_launch(const alto_segments* seg, const void* X, int32_t d_in, const void* dY, int32_t d_out, const float* S,
                                   const float* dS, void* small16, float* const* dA, float* const* dB, cudaStream_t stream) {
#ifndef ALTO_CUDA_SM90A
  (void)seg, (void)X, (void)d_in, (void)dY, (void)d_out, (void)S, (void)dS, (void)small16, (void)dA, (void)dB, (void)stream;
  return cudaErrorNotSupported;
#else
  const DeviceInfo dev = current_device();
  const auto aligned = [](const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; };
  const int32_t ld = seg->max_rank;
  if (dev.major != 9 || dev.minor != 0 || seg->num_segments > kCachedSegments || ld > 64 || ld % 4 != 0 || d_in % 8 != 0 || d_out % 8 != 0 || !aligned(X) || !aligned(dY) ||
      !aligned(S) || !aligned(dS) || !aligned(small16)) {
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
  // Chunks long enough that few items add into one gradient, short enough for about four
  // items per resident block.
  const int64_t blocks = static_cast<int64_t>(wgt::kBlocksPerSm) * dev.sms;
  const int64_t col_tiles = (d_in + wgt::kCols - 1) / wgt::kCols + (d_out + wgt::kCols - 1) / wgt::kCols;
  int64_t chunk = (T * col_tiles + 4 * blocks - 1) / (4 * blocks);
  chunk = std::max<int64_t>(256, std::min<int64_t>(8192, (chunk + wgt::kRows - 1) / wgt::kRows * wgt::kRows));
  const int64_t chunk_bound = tile_bound(seg, static_cast<int32_t>(chunk));
  const int64_t grid = std::min<int64_t>(blocks, chunk_bound * col_tiles);
  return launch(weight_grad_tma_bf16, dim3(static_cast<unsigned>(grid)), wgt::kThreads, wgt::smem_bytes(), stream, x_map, dy_map, ds_map, s_map,
                *seg, static_cast<int32_t>(chunk), d_in, d_out, dA, dB);
#endif
}

}  // namespace alto::cuda
