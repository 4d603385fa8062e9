// The backward: dS (row-reduce over dY), dX (expand over dS), dA and dB (one weight-gradient
// launch, z picks which). Three launches, whatever the number of adapters and segments.
#include <algorithm>
#include <cuda_runtime.h>

#include "kernels.cuh"
#include "expand.h"
#include "kernels_bf16.cuh"
#include "row_reduce.h"
#include "weight_grad.h"

using namespace alto::cuda;

namespace {

// The workspace: dS (T × max_rank fp32), then bf16 copies of S and dS, 64 columns each (the
// weight gradients' tensor copies read them as swizzled 64 × 64 tiles).
size_t ds_bytes(const alto_segments* seg) { return (static_cast<size_t>(seg->total_rows) * seg->max_rank * sizeof(float) + 15) / 16 * 16; }

// Rows per weight-gradient block: long enough that few blocks add into the same gradient
// element, short enough that the grid still fills the GPU.
int32_t grad_chunk_rows(const alto_segments* seg, int32_t col_tiles, int32_t rank_tiles) {
  const int64_t target_blocks = 4LL * current_device().sms;
  const int64_t per_chunk_blocks = 2LL * col_tiles * rank_tiles;
  int64_t rows = (static_cast<int64_t>(seg->total_rows) * per_chunk_blocks + target_blocks - 1) / target_blocks;
  rows = std::max<int64_t>(256, std::min<int64_t>(4096, rows));
  return static_cast<int32_t>((rows + kGradK - 1) / kGradK * kGradK);
}

template <typename E, bool kTf32 = false>
alto_status launch_backward(const alto_segments* seg, const void* X, int32_t d_in, const void* dY, int32_t d_out,
                            const void* const* A, const void* const* B, const float* S, const void* dx_base, void* dX,
                            float* const* dA, float* const* dB, float* dS, cudaStream_t stream) {
  const auto* x = static_cast<const E*>(X);
  const auto* dy = static_cast<const E*>(dY);
  const auto* a = reinterpret_cast<const E* const*>(A);
  const auto* b = reinterpret_cast<const E* const*>(B);
  constexpr bool kBf16 = std::is_same<E, bf16>::value;
  const int32_t col_tiles = (std::max(d_in, d_out) + kGradCols - 1) / kGradCols;
  const int32_t rank_tiles = (seg->max_rank + kGradRank - 1) / kGradRank;
  const int32_t chunk = grad_chunk_rows(seg, col_tiles, rank_tiles);
  const dim3 grad_grid(static_cast<unsigned>(tile_bound(seg, chunk)), col_tiles * rank_tiles, 2);
  // dS, then the weight gradients, then dX: the weight gradients read dY again, and right
  // after dS has read it part of it is still in L2 (their items take the rows last read first).
  if constexpr (kBf16) {
    ALTO_CUDA_TRY(row_reduce_bf16_launch(seg, true, dY, d_out, B, dS, stream));
    bf16* small16 = reinterpret_cast<bf16*>(reinterpret_cast<char*>(dS) + ds_bytes(seg));
    const cudaError_t e = weight_grad_tma_launch(seg, X, d_in, dY, d_out, S, dS, small16, dA, dB, stream);
    if (e == cudaErrorNotSupported) {
      ALTO_CUDA_TRY(launch(weight_grad_bf16, grad_grid, wg::kThreads, wg::smem_bytes(), stream, *seg, chunk, col_tiles, x, d_in, dy, d_out, S,
                           static_cast<const float*>(dS), dA, dB));
    } else if (e != cudaSuccess) {
      return ALTO_ERR_CUDA;
    }
    ALTO_CUDA_TRY(expand_bf16_launch(seg, true, static_cast<const float*>(dS), A, d_in, dx_base, dX, stream));
  } else {
    const dim3 reduce_grid(static_cast<unsigned>(tile_bound(seg, kReduceRows)), (seg->max_rank + kReduceCols - 1) / kReduceCols,
                           reduce_splits(seg, d_out, reduce_k<E>()));
    if constexpr (kTf32) {
      ALTO_CUDA_TRY(row_reduce_tf32_launch(seg, true, dY, d_out, B, dS, stream));
    } else {
      ALTO_CUDA_TRY(launch(row_reduce_kernel<E, true, false>, reduce_grid, kThreads, reduce_smem_bytes<E, true>(), stream, *seg, dy, d_out, b, dS));
    }
    cudaError_t e = cudaErrorNotSupported;
    if constexpr (kTf32) e = weight_grad_tf32_launch(seg, x, d_in, dy, d_out, S, dS, dA, dB, stream);
    if (e == cudaErrorNotSupported) {
      ALTO_CUDA_TRY(launch(weight_grad_kernel<E, kTf32>, grad_grid, kThreads, grad_smem_bytes<E>(), stream, *seg, chunk, col_tiles, x, d_in, dy,
                           d_out, S, static_cast<const float*>(dS), dA, dB));
    } else if (e != cudaSuccess) {
      return ALTO_ERR_CUDA;
    }
    if constexpr (kTf32) {
      ALTO_CUDA_TRY(expand_tf32_launch(seg, true, static_cast<const float*>(dS), A, d_in, dx_base, dX, stream));
    } else {
      const dim3 expand_grid(static_cast<unsigned>(tile_bound(seg, kExpandRows)), (d_in + kExpandCols - 1) / kExpandCols);
      ALTO_CUDA_TRY(launch(expand_kernel<E, true, false>, expand_grid, kThreads, expand_smem_bytes<E, true>(), stream, *seg,
                           static_cast<const float*>(dS), a, d_in, static_cast<const E*>(dx_base), static_cast<E*>(dX)));
    }
  }
  return ALTO_OK;
}

}  // namespace

extern "C" size_t alto_cuda_backward_workspace(const alto_segments* seg) {
  if (check_segments(seg) != ALTO_OK) return 0;
  return ds_bytes(seg) + 2 * static_cast<size_t>(seg->total_rows) * 64 * sizeof(bf16);
}

extern "C" alto_status alto_cuda_backward(const alto_segments* seg, alto_dtype dtype, const void* X, int32_t d_in, const void* dY,
                                          int32_t d_out, const void* const* A, const void* const* B, const float* S,
                                          const void* dx_base, void* dX, float* const* dA, float* const* dB, void* workspace,
                                          size_t workspace_bytes, void* stream) {
  if (alto_status st = check_segments(seg); st != ALTO_OK) return st;
  if (d_in < 1 || d_out < 1 || (seg->num_adapters > 0 && (!A || !B || !dA || !dB))) return ALTO_ERR_INVALID_ARGUMENT;
  if (seg->total_rows == 0) return ALTO_OK;
  if (!X || !dY || !S || !dX) return ALTO_ERR_INVALID_ARGUMENT;
  if (!workspace || workspace_bytes < alto_cuda_backward_workspace(seg)) return ALTO_ERR_WORKSPACE_TOO_SMALL;
  const auto s = static_cast<cudaStream_t>(stream);
  auto* dS = static_cast<float*>(workspace);
  if (dtype == ALTO_F32) return launch_backward<float>(seg, X, d_in, dY, d_out, A, B, S, dx_base, dX, dA, dB, dS, s);
  if (dtype == ALTO_BF16) return launch_backward<bf16>(seg, X, d_in, dY, d_out, A, B, S, dx_base, dX, dA, dB, dS, s);
  if (dtype == ALTO_F32_TF32) return launch_backward<float, true>(seg, X, d_in, dY, d_out, A, B, S, dx_base, dX, dA, dB, dS, s);
  return ALTO_ERR_UNSUPPORTED;
}
