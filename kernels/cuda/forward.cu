// Forward primitives: one launch each, whatever the number of adapters and segments.
#include <cuda_runtime.h>

#include "kernels.cuh"
#include "expand.h"
#include "kernels_bf16.cuh"
#include "row_reduce.h"

using namespace alto::cuda;

namespace {

template <typename E, bool kTf32 = false>
alto_status launch_shrink(const alto_segments* seg, const void* X, int32_t d_in, const void* const* A, float* S, cudaStream_t stream) {
  cudaError_t e;
  if constexpr (std::is_same<E, bf16>::value) {
    e = row_reduce_bf16_launch(seg, false, X, d_in, A, S, stream);
  } else if constexpr (kTf32) {
    e = row_reduce_tf32_launch(seg, false, X, d_in, A, S, stream);
  } else {
    const dim3 grid(static_cast<unsigned>(tile_bound(seg, kReduceRows)), (seg->max_rank + kReduceCols - 1) / kReduceCols,
                    reduce_splits(seg, d_in, reduce_k<E>()));
    e = launch(row_reduce_kernel<E, false, kTf32>, grid, kThreads, reduce_smem_bytes<E, false>(), stream, *seg, static_cast<const E*>(X), d_in,
               reinterpret_cast<const E* const*>(A), S);
  }
  return e == cudaSuccess ? ALTO_OK : ALTO_ERR_CUDA;
}

template <typename E, bool kTf32 = false>
alto_status launch_expand(const alto_segments* seg, const float* S, const void* const* B, int32_t d_out, const void* base, void* Y,
                          cudaStream_t stream) {
  cudaError_t e;
  if constexpr (std::is_same<E, bf16>::value) {
    e = expand_bf16_launch(seg, false, S, B, d_out, base, Y, stream);
  } else if constexpr (kTf32) {
    e = expand_tf32_launch(seg, false, S, B, d_out, base, Y, stream);
  } else {
    const dim3 grid(static_cast<unsigned>(tile_bound(seg, kExpandRows)), (d_out + kExpandCols - 1) / kExpandCols);
    e = launch(expand_kernel<E, false, false>, grid, kThreads, expand_smem_bytes<E, false>(), stream, *seg, S, reinterpret_cast<const E* const*>(B),
               d_out, static_cast<const E*>(base), static_cast<E*>(Y));
  }
  return e == cudaSuccess ? ALTO_OK : ALTO_ERR_CUDA;
}

}  // namespace

extern "C" alto_status alto_cuda_shrink(const alto_segments* seg, alto_dtype dtype, const void* X, int32_t d_in,
                                        const void* const* A, float* S, void* stream) {
  if (alto_status st = check_segments(seg); st != ALTO_OK) return st;
  if (d_in < 1 || (seg->num_adapters > 0 && !A)) return ALTO_ERR_INVALID_ARGUMENT;
  if (seg->total_rows == 0) return ALTO_OK;
  if (!X || !S) return ALTO_ERR_INVALID_ARGUMENT;
  const auto s = static_cast<cudaStream_t>(stream);
  if (dtype == ALTO_F32) return launch_shrink<float>(seg, X, d_in, A, S, s);
  if (dtype == ALTO_BF16) return launch_shrink<bf16>(seg, X, d_in, A, S, s);
  if (dtype == ALTO_F32_TF32) return launch_shrink<float, true>(seg, X, d_in, A, S, s);
  return ALTO_ERR_UNSUPPORTED;
}

extern "C" alto_status alto_cuda_expand(const alto_segments* seg, alto_dtype dtype, const float* S, const void* const* B,
                                        int32_t d_out, const void* base, void* Y, void* stream) {
  if (alto_status st = check_segments(seg); st != ALTO_OK) return st;
  if (d_out < 1 || (seg->num_adapters > 0 && !B)) return ALTO_ERR_INVALID_ARGUMENT;
  if (seg->total_rows == 0) return ALTO_OK;
  if (!S || !Y) return ALTO_ERR_INVALID_ARGUMENT;
  const auto s = static_cast<cudaStream_t>(stream);
  if (dtype == ALTO_F32) return launch_expand<float>(seg, S, B, d_out, base, Y, s);
  if (dtype == ALTO_BF16) return launch_expand<bf16>(seg, S, B, d_out, base, Y, s);
  if (dtype == ALTO_F32_TF32) return launch_expand<float, true>(seg, S, B, d_out, base, Y, s);
  return ALTO_ERR_UNSUPPORTED;
}
