// The bf16 row-reduce launch shared by the forward shrink and the backward dS: the
// warp-specialised wgmma kernel where it applies (built for sm_90a and running on compute
// capability 9.0, d a multiple of 64, ranks ≤ 64, a 16-byte aligned matrix, a tensor map
// made), the cp.async kernel otherwise.
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

template <bool kTransposedW>
cudaError_t launch_row_reduce(const alto_segments* seg, const bf16* big, int32_t d, const bf16* const* W, float* out, cudaStream_t stream) {
  const DeviceInfo dev = current_device();
  const int64_t tiles = tile_bound(seg, rrt::kRows);
  // Measured on the H200 (bench/kernels/README.md, v12, v16): the wgmma kernel is 1.3–2.0×
  // faster than the cp.async one for the shrink and 1.3–1.6× for dS once the row tiles alone
  // fill the GPU; with fewer tiles the cluster split of d below wins.
  CUtensorMap map;
  if (kBuiltForSm90a && dev.major == 9 && dev.minor == 0 && tiles >= dev.sms && seg->num_segments <= kCachedSegments &&
      d % rrt::kK == 0 && seg->max_rank <= 64 && reinterpret_cast<uintptr_t>(big) % 16 == 0 &&
      tma_tile_map(&map, big, seg->total_rows, d, rrt::kRows)) {
    // Persistent blocks: as many as stay resident, never more than there are row tiles.
    const int64_t blocks = std::min<int64_t>(tiles, static_cast<int64_t>(rrt::kBlocksPerSm) * dev.sms);
    return launch(row_reduce_tma_bf16<kTransposedW>, dim3(static_cast<unsigned>(blocks)), rrt::kThreads, rrt::smem_bytes(), stream, map, *seg, d, W,
                  out);
  }
  const dim3 grid(static_cast<unsigned>(tile_bound(seg, rr::kRows)), (seg->max_rank + rr::kCols - 1) / rr::kCols,
                  reduce_splits(seg, d, rr::kK));
  return launch(row_reduce_bf16<kTransposedW>, grid, rr::kThreads, rr::smem_bytes(), stream, *seg, big, d, W, out);
}

}  // namespace

cudaError_t row_reduce_bf16_launch(const alto_segments* seg, bool transposed_w, const void* big, int32_t d, const void* const* W, float* out,
                                   cudaStream_t stream) {
  const auto* b = static_cast<const bf16*>(big);
  const auto* w = reinterpret_cast<const bf16* const*>(W);
  return transposed_w ? launch_row_reduce<true>(seg, b, d, w, out, stream) : launch_row_reduce<false>(seg, b, d, w, out, stream);
}

}  // namespace alto::cuda
