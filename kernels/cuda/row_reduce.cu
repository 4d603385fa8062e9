// The row-reduce launches shared by the forward shrink and the backward dS, bf16 and fp32 with
// TF32 products: the warp-specialised wgmma kernel where it applies (built for sm_90a and
// running on compute capability 9.0, d a multiple of one stage's k, ranks ≤ 64, a 16-byte
// aligned matrix, a tensor map made), the cp.async (bf16) or WMMA (TF32) kernel otherwise.
#include <algorithm>

#include "kernels.cuh"
#include "kernels_bf16.cuh"
#include "reduce_tma.cuh"
#include "row_reduce.h"
#include "tma_map.h"

namespace alto::cuda {
namespace {

#ifdef ALTO_CUDA_SM90A
constexpr bool kBuiltForSm90a = true;
#else
constexpr bool kBuiltForSm90a = false;  // the kernel needs wgmma: built only for sm_90a
#endif

// Launches the wgmma kernel and returns true where it applies. Measured on the H200
// (bench/kernels/README.md, v12, v16, v17): once the row tiles alone fill the GPU, faster than
// the cp.async kernel by 1.3–2.0× for the bf16 shrink and 1.3–1.6× for bf16 dS, and than the
// WMMA kernel by 2.9–3.2× for the TF32 shrink and 2.5× for TF32 dS. With fewer row tiles than
// multiprocessors, the blocks split d (as many splits as fill the resident blocks) and add
// their partial sums into the output, zeroed first.
template <typename E, bool kTransposedW>
bool try_row_reduce_tma(const alto_segments* seg, const E* big, int32_t d, const E* const* W, float* out, cudaStream_t stream,
                        cudaError_t* status) {
  const DeviceInfo dev = current_device();
  const int64_t tiles = tile_bound(seg, rrt::kRows);
  if (!kBuiltForSm90a || dev.major != 9 || dev.minor != 0 || tiles == 0 || seg->num_segments > kCachedSegments ||
      d % rrt::k_step<E>() != 0 || seg->max_rank > 64 || reinterpret_cast<uintptr_t>(big) % 16 != 0)
    return false;
  CUtensorMap map;
  const bool mapped = std::is_same<E, float>::value ? tma_f32_tile_map(&map, big, seg->total_rows, d, rrt::kRows)
                                                    : tma_tile_map(&map, big, seg->total_rows, d, rrt::kRows);
  if (!mapped) return false;
  // Persistent blocks: as many as stay resident, never more than there are row tiles; split
  // along d while that leaves every block a K step.
  const int64_t resident = static_cast<int64_t>(rrt::kBlocksPerSm) * dev.sms;
  const int64_t blocks = std::min<int64_t>(tiles, resident);
  const int64_t steps = d / rrt::k_step<E>();
  const int64_t want = tiles >= dev.sms ? 1 : std::max<int64_t>(1, std::min<int64_t>(resident / tiles, steps));
  const int64_t per_split = (steps + want - 1) / want, splits = want > 1 ? (steps + per_split - 1) / per_split : 1;  // none left empty
  if (splits == 1) {
    *status = launch(row_reduce_tma<E, kTransposedW, false>, dim3(static_cast<unsigned>(blocks)), rrt::kThreads, rrt::smem_bytes<E, kTransposedW>(),
                     stream, map, *seg, d, W, out);
    return true;
  }
  *status = cudaMemsetAsync(out, 0, static_cast<size_t>(seg->total_rows) * seg->max_rank * sizeof(float), stream);
  if (*status == cudaSuccess) {
    *status = launch(row_reduce_tma<E, kTransposedW, true>, dim3(static_cast<unsigned>(blocks), static_cast<unsigned>(splits)), rrt::kThreads,
                     rrt::smem_bytes<E, kTransposedW>(), stream, map, *seg, d, W, out);
  }
  return true;
}

template <bool kTransposedW>
cudaError_t launch_row_reduce_bf16(const alto_segments* seg, const bf16* big, int32_t d, const bf16* const* W, float* out, cudaStream_t stream) {
  cudaError_t status;
  if (try_row_reduce_tma<bf16, kTransposedW>(seg, big, d, W, out, stream, &status)) return status;
  const dim3 grid(static_cast<unsigned>(tile_bound(seg, rr::kRows)), (seg->max_rank + rr::kCols - 1) / rr::kCols,
                  reduce_splits(seg, d, rr::kK));
  return launch(row_reduce_bf16<kTransposedW>, grid, rr::kThreads, rr::smem_bytes(), stream, *seg, big, d, W, out);
}

template <bool kTransposedW>
cudaError_t launch_row_reduce_tf32(const alto_segments* seg, const float* big, int32_t d, const float* const* W, float* out, cudaStream_t stream) {
  cudaError_t status;
  if (try_row_reduce_tma<float, kTransposedW>(seg, big, d, W, out, stream, &status)) return status;
  const dim3 grid(static_cast<unsigned>(tile_bound(seg, kReduceRows)), (seg->max_rank + kReduceCols - 1) / kReduceCols,
                  reduce_splits(seg, d, reduce_k<float>()));
  return launch(row_reduce_kernel<float, kTransposedW, true>, grid, kThreads, reduce_smem_bytes<float, kTransposedW>(), stream, *seg, big, d, W,
                out);
}

}  // namespace

cudaError_t row_reduce_bf16_launch(const alto_segments* seg, bool transposed_w, const void* big, int32_t d, const void* const* W, float* out,
                                   cudaStream_t stream) {
  const auto* b = static_cast<const bf16*>(big);
  const auto* w = reinterpret_cast<const bf16* const*>(W);
  return transposed_w ? launch_row_reduce_bf16<true>(seg, b, d, w, out, stream) : launch_row_reduce_bf16<false>(seg, b, d, w, out, stream);
}

cudaError_t row_reduce_tf32_launch(const alto_segments* seg, bool transposed_w, const void* big, int32_t d, const void* const* W, float* out,
                                   cudaStream_t stream) {
  const auto* b = static_cast<const float*>(big);
  const auto* w = reinterpret_cast<const float* const*>(W);
  return transposed_w ? launch_row_reduce_tf32<true>(seg, b, d, w, out, stream) : launch_row_reduce_tf32<false>(seg, b, d, w, out, stream);
}

}  // namespace alto::cuda
