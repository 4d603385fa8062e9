// Host side of the streaming passes: whether a call fits them, chunk sizes, launches.
#include "pass.h"

#include <algorithm>
#include <initializer_list>

#include "kernels.cuh"
#include "kernels_pass.cuh"

namespace alto::cuda {
namespace {

using namespace pass;

int32_t round_up(int64_t v, int64_t m) { return static_cast<int32_t>((v + m - 1) / m * m); }

// Rows per chunk (a multiple of 64 in [lo, hi]) so that about `waves` waves of blocks cover
// the GPU.
int32_t chunk_rows(const alto_segments* seg, int64_t blocks_per_chunk, int64_t resident_per_sm, int64_t waves, int32_t lo, int32_t hi) {
  const int64_t want = std::max<int64_t>(1, waves * resident_per_sm * current_device().sms / blocks_per_chunk);
  const int64_t rows = (static_cast<int64_t>(seg->total_rows) + want - 1) / want;
  return std::max(std::min(lo, hi), std::min<int32_t>(hi, round_up(std::max<int64_t>(rows, 1), kRows)));
}

int32_t clusters_for(int32_t d) { return (d + kSlice - 1) / kSlice; }

template <typename Kernel, typename... Args>
cudaError_t launch_pass(Kernel kernel, dim3 grid, size_t bytes, unsigned cluster_x, cudaStream_t stream, Args... args) {
  cudaError_t e = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(bytes));
  if (e == cudaSuccess && cluster_x > 8) e = cudaFuncSetAttribute(kernel, cudaFuncAttributeNonPortableClusterSizeAllowed, 1);
  if (e != cudaSuccess) return e;
  cudaLaunchConfig_t config = {};
  config.gridDim = grid;
  config.blockDim = dim3(pass::kThreads);
  config.dynamicSmemBytes = bytes;
  config.stream = stream;
  cudaLaunchAttribute cluster;
  cluster.id = cudaLaunchAttributeClusterDimension;
  cluster.val.clusterDim.x = cluster_x;
  cluster.val.clusterDim.y = 1;
  cluster.val.clusterDim.z = 1;
  config.attrs = &cluster;
  config.numAttrs = cluster_x > 1 ? 1 : 0;
  return cudaLaunchKernelEx(&config, kernel, args...);
}

// Calls f with the padded largest rank as a compile-time constant.
template <typename F>
cudaError_t with_rank(int32_t max_rank, F&& f) {
  switch (rank_pad(max_rank)) {
    case 16: return f(std::integral_constant<int, 16>{});
    case 32: return f(std::integral_constant<int, 32>{});
    case 48: return f(std::integral_constant<int, 48>{});
    default: return f(std::integral_constant<int, 64>{});
  }
}

template <bool kDy>
cudaError_t row_pass_launch(const alto_segments* seg, const bf16* Z, int32_t d, const bf16* const* W, float* out_f32, bf16* out_bf16,
                            int32_t ld_out, const float* S, float* const* dB, cudaStream_t stream) {
  const int32_t C = clusters_for(d);
  // A chunk's rows are owned C ways, at most kOwnedRows each.
  const int32_t chunk = chunk_rows(seg, C, 1, 2, kDy ? 256 : kRows, kOwnedRows * C);
  const dim3 grid(C, static_cast<unsigned>(tile_bound(seg, chunk)));
  return with_rank(seg->max_rank, [&](auto rp) {
    return launch_pass(row_pass<kDy, decltype(rp)::value>, grid, row_pass_smem(kDy), C, stream, *seg, chunk, Z, d, W, out_f32, out_bf16,
                       ld_out, S, dB);
  });
}

cudaError_t dx_pass_launch(const alto_segments* seg, const bf16* dS, int32_t ld_small, const bf16* const* A, int32_t d, const bf16* base,
                           bf16* out, const bf16* X, float* const* dA, cudaStream_t stream) {
  const int32_t col_blocks = (d + kCols - 1) / kCols;
  const int32_t chunk = chunk_rows(seg, col_blocks, 2, 3, 256, 4096);
  const dim3 grid(col_blocks, static_cast<unsigned>(tile_bound(seg, chunk)));
  return with_rank(seg->max_rank, [&](auto rp) {
    return launch_pass(dx_pass<decltype(rp)::value>, grid, col_pass_smem(), 1, stream, *seg, chunk, dS, ld_small, A, d, base, out, X, dA);
  });
}

}  // namespace

bool pass_fits(const alto_segments* seg, std::initializer_list<int32_t> dims, std::initializer_list<const void*> rows) {
  if (seg->max_rank > kMaxRank || current_device().major < 9) return false;
  for (int32_t d : dims)
    if (d % 8 != 0 || clusters_for(d) > kMaxCluster) return false;
  for (const void* p : rows)
    if (reinterpret_cast<uintptr_t>(p) % 16 != 0) return false;
  return true;
}

size_t pass_workspace(const alto_segments* seg) { return static_cast<size_t>(seg->total_rows) * rank_pad(seg->max_rank) * sizeof(bf16); }

cudaError_t pass_shrink(const alto_segments* seg, const void* X, int32_t d_in, const void* const* A, float* S, cudaStream_t stream) {
  return row_pass_launch<false>(seg, static_cast<const bf16*>(X), d_in, reinterpret_cast<const bf16* const*>(A), S, nullptr, seg->max_rank,
                                nullptr, nullptr, stream);
}

cudaError_t pass_backward(const alto_segments* seg, const void* X, int32_t d_in, const void* dY, int32_t d_out, const void* const* A,
                          const void* const* B, const float* S, const void* dx_base, void* dX, float* const* dA, float* const* dB,
                          void* workspace, cudaStream_t stream) {
  auto* dS = static_cast<bf16*>(workspace);
  const int32_t ld = rank_pad(seg->max_rank);
  cudaError_t e = row_pass_launch<true>(seg, static_cast<const bf16*>(dY), d_out, reinterpret_cast<const bf16* const*>(B), nullptr, dS, ld, S,
                                        dB, stream);
  if (e != cudaSuccess) return e;
  return dx_pass_launch(seg, dS, ld, reinterpret_cast<const bf16* const*>(A), d_in, static_cast<const bf16*>(dx_base), static_cast<bf16*>(dX),
                        static_cast<const bf16*>(X), dA, stream);
}

}  // namespace alto::cuda
