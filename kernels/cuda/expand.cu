// The expand launches shared by the forward (Y = base + s·S·B) and the backward
// (dX = dx_base + dS·Aᵀ), bf16 and fp32 with TF32 products: the bulk-tensor kernel where it
// applies (sm_90, ranks ≤ 64, 16-byte aligned rows, tensor maps made; for bf16 a base), the
// cp.async (bf16) or WMMA (TF32) kernel otherwise.
#include <cuda_runtime.h>

#include "expand.h"
#include "expand_tma.cuh"
#include "expand_tma_tf32.cuh"
#include "kernels.cuh"
#include "tma_map.h"

namespace alto::cuda {
namespace {

template <bool kTransposedW>
auto tma_kernel(int rp) -> decltype(&expand_tma_bf16<kTransposedW, 16>) {
  switch (rp) {
    case 16: return &expand_tma_bf16<kTransposedW, 16>;
    case 32: return &expand_tma_bf16<kTransposedW, 32>;
    case 48: return &expand_tma_bf16<kTransposedW, 48>;
    default: return &expand_tma_bf16<kTransposedW, 64>;
  }
}

template <bool kTransposedW>
cudaError_t launch_expand(const alto_segments* seg, const float* small, const bf16* const* W, int32_t d, const bf16* base, bf16* out,
                          cudaStream_t stream) {
  const int32_t span = expand_span(seg, d);
  const dim3 grid(static_cast<unsigned>(tile_bound(seg, ex::kRows)), (d + span - 1) / span);
  const int rp = ex::rank_pad(seg->max_rank);
  const bool aligned = d % 8 == 0 && reinterpret_cast<uintptr_t>(base) % 16 == 0 && reinterpret_cast<uintptr_t>(out) % 16 == 0;
  CUtensorMap base_map, out_map;
  if (base && aligned && rp <= 64 && current_device().major >= 9 && tma_tile_map(&base_map, base, seg->total_rows, d, ext::kRows) &&
      tma_tile_map(&out_map, out, seg->total_rows, d, 16)) {
    return launch(tma_kernel<kTransposedW>(rp), grid, ext::kThreads, ext::smem_bytes(rp), stream, base_map, out_map, *seg, span, small, W, d,
                  base, out);
  }
  return launch(expand_bf16_for<kTransposedW>(seg->max_rank), grid, ex::kThreads, ex::smem_bytes(seg->max_rank), stream, *seg, span, small, W,
                d, base, out);
}

template <bool kTransposedW>
auto tma_tf32_kernel(int rp) -> decltype(&expand_tma_tf32<kTransposedW, 16>) {
  switch (rp) {
    case 16: return &expand_tma_tf32<kTransposedW, 16>;
    case 32: return &expand_tma_tf32<kTransposedW, 32>;
    case 48: return &expand_tma_tf32<kTransposedW, 48>;
    default: return &expand_tma_tf32<kTransposedW, 64>;
  }
}

template <bool kTransposedW>
cudaError_t launch_expand_tf32(const alto_segments* seg, const float* small, const float* const* W, int32_t d, const float* base, float* out,
                               cudaStream_t stream) {
  const int rp = ex::rank_pad(seg->max_rank);
  const bool aligned = d % 4 == 0 && reinterpret_cast<uintptr_t>(base) % 16 == 0 && reinterpret_cast<uintptr_t>(out) % 16 == 0;
  // Without a base the kernel loads no base tiles: its map is never read (made over out).
  CUtensorMap base_map, out_map;
  if (aligned && rp <= 64 && current_device().major >= 9 && tma_f32_tile_map(&base_map, base ? base : out, seg->total_rows, d, ext32::kRows) &&
      tma_f32_tile_map(&out_map, out, seg->total_rows, d, 16)) {
    const int32_t span = expand_span(seg, d);
    const dim3 grid(static_cast<unsigned>(tile_bound(seg, ext32::kRows)), (d + span - 1) / span);
    return launch(tma_tf32_kernel<kTransposedW>(rp), grid, ext32::kThreads, ext32::smem_bytes(rp), stream, base_map, out_map, *seg, span, small,
                  W, d, base, out);
  }
  const dim3 grid(static_cast<unsigned>(tile_bound(seg, kExpandRows)), (d + kExpandCols - 1) / kExpandCols);
  return launch(expand_kernel<float, kTransposedW, true>, grid, kThreads, expand_smem_bytes<float, kTransposedW>(), stream, *seg, small, W, d,
                base, out);
}

}  // namespace

cudaError_t expand_tf32_launch(const alto_segments* seg, bool transposed_w, const float* small, const void* const* W, int32_t d,
                               const void* base, void* out, cudaStream_t stream) {
  const auto* w = reinterpret_cast<const float* const*>(W);
  const auto* b = static_cast<const float*>(base);
  auto* o = static_cast<float*>(out);
  return transposed_w ? launch_expand_tf32<true>(seg, small, w, d, b, o, stream) : launch_expand_tf32<false>(seg, small, w, d, b, o, stream);
}

cudaError_t expand_bf16_launch(const alto_segments* seg, bool transposed_w, const float* small, const void* const* W, int32_t d,
                               const void* base, void* out, cudaStream_t stream) {
  const auto* w = reinterpret_cast<const bf16* const*>(W);
  const auto* b = static_cast<const bf16*>(base);
  auto* o = static_cast<bf16*>(out);
  return transposed_w ? launch_expand<true>(seg, small, w, d, b, o, stream) : launch_expand<false>(seg, small, w, d, b, o, stream);
}

}  // namespace alto::cuda
