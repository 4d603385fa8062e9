// The three kernel shapes behind every primitive (launched from forward.cu and backward.cu).
#pragma once
#include <cooperative_groups.h>

#include "tile.cuh"

namespace alto::cuda {

constexpr int kStages = 3;  // cp.async pipeline depth of the streaming kernels

// ---- Row-reduce: out[row, n] = scale_a · Σ_k big[row, k]·W(k, n), a reduction over d. ----
//   shrink: big = X,  W(k, n) = A[k, n]  (kTransposedW = false), scale 1
//   dS:     big = dY, W(k, n) = B[n, k]  (kTransposedW = true),  scale s_a
// Block: 64 rows of one segment × 64 rank columns (grid.y covers max_rank), K tiles of 128
// bytes per row streamed through a 3-stage cp.async pipeline. Columns past the adapter's
// rank and rows of no adapter are written as zeros.
constexpr int kReduceRows = 64, kReduceCols = 64;
template <typename E> __host__ __device__ constexpr int reduce_k() { return 128 / sizeof(E); }

// kTf32 (fp32 storage only): products on the tensor cores with TF32 inputs, as in all three.
template <typename E, bool kTransposedW, bool kTf32 = false>
using ReduceGemm = BlockGemm<E, kReduceRows, kReduceCols, reduce_k<E>(), 4, false, kTransposedW, kTf32>;

template <typename E, bool kTransposedW>
__host__ __device__ constexpr size_t reduce_smem_bytes() {
  using G = ReduceGemm<E, kTransposedW>;
  const size_t stages = kStages * (G::LayoutA::kElems + G::LayoutB::kElems) * sizeof(E);
  const size_t c = kReduceRows * G::LDC * sizeof(float);
  return stages > c ? stages : c;
}

// The generic kernels' main loop: kStages cp.async stages in flight (`load(kt)` issues and
// commits stage kt's copies, nothing past the last step), each multiplied once landed; the
// block's product ends in shared memory at smem_raw (rows of G::LDC floats), returned.
template <typename G, typename E, typename Load>
__device__ __forceinline__ float* multiply_stages(const E* stage_mem, int nk, Load& load, unsigned char* smem_raw) {
  G gemm;
  gemm.zero();
  for (int s = 0; s < kStages - 1; ++s) load(s);
  for (int kt = 0; kt < nk; ++kt) {
    cp_async_wait<kStages - 2>();
    __syncthreads();
    load(kt + kStages - 1);
    const E* a = stage_mem + (kt % kStages) * (G::LayoutA::kElems + G::LayoutB::kElems);
    gemm.step(a, a + G::LayoutA::kElems);
  }
  cp_async_wait<0>();
  __syncthreads();
  float* c = reinterpret_cast<float*>(smem_raw);
  gemm.store(c);
  return c;
}

template <typename E, bool kTransposedW, bool kTf32 = false>
__global__ void __launch_bounds__(kThreads, 3) row_reduce_kernel(alto_segments seg, const E* big, int32_t d, const E* const* W, float* out) {
  using G = ReduceGemm<E, kTransposedW, kTf32>;
  constexpr int BK = reduce_k<E>();
  extern __shared__ __align__(128) unsigned char smem_raw[];
  E* stage_mem = reinterpret_cast<E*>(smem_raw);
  SegmentTile t;
  if (!find_segment_tile(seg, blockIdx.x, kReduceRows, t)) return;
  const int32_t ld = seg.max_rank;
  const int32_t n0 = blockIdx.y * kReduceCols;
  const int32_t r = t.adapter >= 0 ? seg.ranks[t.adapter] : 0;
  const int32_t n_end = min(ld, n0 + kReduceCols);
  // grid.z splits d; the blocks of one (rows, ranks) tile form a cluster and add their
  // partial sums through distributed shared memory (Hopper), so out is written once.
  const int nsplit = gridDim.z, split = blockIdx.z;
  if (n0 >= r) {  // nothing to compute: zero this block's share of out
    for (int i = threadIdx.x; i < t.rows * kReduceCols; i += kThreads) {
      const int row = i / kReduceCols, n = n0 + i % kReduceCols;
      if (n < n_end && row % nsplit == split) out[static_cast<int64_t>(t.row0 + row) * ld + n] = 0.0f;
    }
    return;
  }
  const E* w = W[t.adapter];
  const E* x = big + static_cast<int64_t>(t.row0) * d;
  const bool x_aligned = rows_aligned(big, d);
  const bool w_aligned = kTransposedW ? rows_aligned(w, d) : rows_aligned(w, r);
  const int nk_all = (d + BK - 1) / BK, per_split = (nk_all + nsplit - 1) / nsplit;
  const int kt0 = split * per_split, nk = max(0, min(per_split, nk_all - kt0));
  auto load = [&](int kt) {
    if (kt < nk) {
      E* a = stage_mem + (kt % kStages) * (G::LayoutA::kElems + G::LayoutB::kElems);
      E* b = a + G::LayoutA::kElems;
      const int32_t k0 = (kt0 + kt) * BK;
      copy_tile<E, kReduceRows, BK, G::LayoutA::kLd>(a, x + k0, d, t.rows, d - k0, x_aligned);
      if constexpr (kTransposedW) {
        copy_tile<E, kReduceCols, BK, G::LayoutB::kLd>(b, w + static_cast<int64_t>(n0) * d + k0, d, r - n0, d - k0, w_aligned);
      } else {
        copy_tile<E, BK, kReduceCols, G::LayoutB::kLd>(b, w + static_cast<int64_t>(k0) * r + n0, r, d - k0, r - n0, w_aligned);
      }
    }
    cp_async_commit();
  };
  float* c = multiply_stages<G>(stage_mem, nk, load, smem_raw);
  const float scale = kTransposedW ? seg.scales[t.adapter] : 1.0f;
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  if (nsplit > 1) {
    cooperative_groups::cluster_group cluster = cooperative_groups::this_cluster();
    cluster.sync();
    const float* parts[8];
    for (int q = 0; q < nsplit; ++q) parts[q] = cluster.map_shared_rank(c, q);
    for (int i = threadIdx.x; i < t.rows * kReduceCols; i += kThreads) {
      const int row = i / kReduceCols, col = i % kReduceCols, n = n0 + col;
      if (n >= n_end || row % nsplit != split) continue;
      float v = 0.0f;
      for (int q = 0; q < nsplit; ++q) v += parts[q][row * G::LDC + col];
      out[static_cast<int64_t>(t.row0 + row) * ld + n] = n < r ? scale * v : 0.0f;
    }
    cluster.sync();  // keep this block's partial sums alive until every reader is done
    return;
  }
#endif
  __syncthreads();
  for (int i = threadIdx.x; i < t.rows * kReduceCols; i += kThreads) {
    const int row = i / kReduceCols, col = i % kReduceCols, n = n0 + col;
    if (n < n_end) out[static_cast<int64_t>(t.row0 + row) * ld + n] = n < r ? scale * c[row * G::LDC + col] : 0.0f;
  }
}

// ---- Expand: out[row, n] = base[row, n] + scale_a · Σ_j small[row, j]·W(j, n). ----
//   expand: small = S,  W(j, n) = B[j, n]  (kTransposedW = false), scale s_a
//   dX:     small = dS, W(j, n) = A[n, j]  (kTransposedW = true),  scale 1
// Block: 64 rows of one segment × 128 output columns. base may be null (zero) or equal out.
constexpr int kExpandRows = 64, kExpandCols = 128, kExpandK = 32;

template <typename E, bool kTransposedW, bool kTf32 = false>
using ExpandGemm = BlockGemm<E, kExpandRows, kExpandCols, kExpandK, 2, false, kTransposedW, kTf32>;

template <typename E, bool kTransposedW>
__host__ __device__ constexpr size_t expand_smem_bytes() {
  using G = ExpandGemm<E, kTransposedW>;
  const size_t ops = (G::LayoutA::kElems + G::LayoutB::kElems) * sizeof(E);
  const size_t c = kExpandRows * G::LDC * sizeof(float);
  return (ops > c ? ops : c) + kExpandRows * kExpandCols * sizeof(E);
}

template <typename E, bool kTransposedW, bool kTf32 = false>
__global__ void __launch_bounds__(kThreads, 3) expand_kernel(alto_segments seg, const float* small, const E* const* W, int32_t d,
                                                             const E* base, E* out) {
  using G = ExpandGemm<E, kTransposedW, kTf32>;
  constexpr int kVec = 16 / sizeof(E);
  constexpr int kVecsPerRow = kExpandCols / kVec;
  constexpr int kVecsPerThread = kExpandRows * kVecsPerRow / kThreads;
  extern __shared__ __align__(128) unsigned char smem_raw[];
  SegmentTile t;
  if (!find_segment_tile(seg, blockIdx.x, kExpandRows, t)) return;
  const int32_t n0 = blockIdx.y * kExpandCols;
  if (n0 >= d) return;
  const int32_t ld = seg.max_rank;
  const int32_t cols = min(kExpandCols, d - n0);
  const int64_t tile0 = static_cast<int64_t>(t.row0) * d + n0;
  const bool vec = rows_aligned(out, d) && (base == nullptr || rows_aligned(base, d));
  float* c_tile = reinterpret_cast<float*>(smem_raw);
  E* base_tile = reinterpret_cast<E*>(smem_raw + expand_smem_bytes<E, kTransposedW>() - kExpandRows * kExpandCols * sizeof(E));
  // The base tile starts its trip from memory first, so that it overlaps the small product.
  if (vec && base) copy_tile<E, kExpandRows, kExpandCols, kExpandCols>(base_tile, base + tile0, d, t.rows, cols, true);
  cp_async_commit();

  const bool lora = t.adapter >= 0;
  if (lora) {
    E* a = reinterpret_cast<E*>(smem_raw);
    E* b = a + G::LayoutA::kElems;
    const int32_t r = seg.ranks[t.adapter];
    const E* w = W[t.adapter];
    const bool w_aligned = kTransposedW ? rows_aligned(w, r) : rows_aligned(w, d);
    G gemm;
    gemm.zero();
    for (int32_t k0 = 0; k0 < r; k0 += kExpandK) {
      convert_tile<E, kExpandRows, kExpandK, G::LayoutA::kLd>(a, small + static_cast<int64_t>(t.row0) * ld + k0, ld, t.rows, r - k0);
      if constexpr (kTransposedW) {
        copy_tile<E, kExpandCols, kExpandK, G::LayoutB::kLd>(b, w + static_cast<int64_t>(n0) * r + k0, r, cols, r - k0, w_aligned);
      } else {
        copy_tile<E, kExpandK, kExpandCols, G::LayoutB::kLd>(b, w + static_cast<int64_t>(k0) * d + n0, d, r - k0, cols, w_aligned);
      }
      cp_async_commit();
      cp_async_wait<0>();
      __syncthreads();
      gemm.step(a, b);
      __syncthreads();
    }
    gemm.store(c_tile);
  }
  cp_async_wait<0>();
  __syncthreads();
  const float scale = lora && !kTransposedW ? seg.scales[t.adapter] : 1.0f;
#pragma unroll
  for (int v = 0; v < kVecsPerThread; ++v) {
    const int i = threadIdx.x + v * kThreads, row = i / kVecsPerRow, c = (i % kVecsPerRow) * kVec;
    if (row >= t.rows || c >= cols) continue;
    const int64_t at = tile0 + static_cast<int64_t>(row) * d + c;
    if (vec && c + kVec <= cols) {
      uint4 o = base ? *reinterpret_cast<const uint4*>(base_tile + row * kExpandCols + c) : make_uint4(0, 0, 0, 0);
      E* e = reinterpret_cast<E*>(&o);
#pragma unroll
      for (int k = 0; k < kVec; ++k) {
        float y = to_float<E>(e[k]);
        if (lora) y += scale * c_tile[row * G::LDC + c + k];
        e[k] = from_float<E>(y);
      }
      *reinterpret_cast<uint4*>(out + at) = o;
    } else {
      for (int k = 0; k < kVec && c + k < cols; ++k) {
        float y = base ? to_float<E>(base[at + k]) : 0.0f;
        if (lora) y += scale * c_tile[row * G::LDC + c + k];
        out[at + k] = from_float<E>(y);
      }
    }
  }
}

// ---- Weight gradients, summed over a chunk of one segment's rows, added atomically. ----
//   z = 0: dA[k, j] += Σ_rows X[row, k]·dS[row, j]
//   z = 1: dB[j, n] += s_a·Σ_rows S[row, j]·dY[row, n]
// Both are C(j, c) = Σ_rows small[row, j]·big[row, c]: a 64-rank × 128-column tile per block;
// big rows stream through a 3-stage cp.async pipeline.
constexpr int kGradRank = 64, kGradCols = 128, kGradK = 32;

template <typename E, bool kTf32 = false>
using GradGemm = BlockGemm<E, kGradRank, kGradCols, kGradK, 2, true, false, kTf32>;

template <typename E>
__host__ __device__ constexpr size_t grad_smem_bytes() {
  using G = GradGemm<E>;
  const size_t stages = kStages * (G::LayoutA::kElems + G::LayoutB::kElems) * sizeof(E);
  const size_t c = kGradRank * G::LDC * sizeof(float);
  return stages > c ? stages : c;
}

template <typename E, bool kTf32 = false>
__global__ void __launch_bounds__(kThreads, 3) weight_grad_kernel(alto_segments seg, int32_t chunk_rows, int32_t col_tiles, const E* X,
                                                               int32_t d_in, const E* dY, int32_t d_out, const float* S,
                                                               const float* dS, float* const* dA, float* const* dB) {
  using G = GradGemm<E, kTf32>;
  extern __shared__ __align__(128) unsigned char smem_raw[];
  E* stage_mem = reinterpret_cast<E*>(smem_raw);
  SegmentTile t;
  if (!find_segment_tile(seg, blockIdx.x, chunk_rows, t) || t.adapter < 0) return;
  const bool is_b = blockIdx.z == 1;
  const int32_t d = is_b ? d_out : d_in;
  const int32_t m0 = (blockIdx.y / col_tiles) * kGradRank, n0 = (blockIdx.y % col_tiles) * kGradCols;
  const int32_t r = seg.ranks[t.adapter];
  if (n0 >= d || m0 >= r) return;
  const int32_t ld = seg.max_rank;
  const float* small = (is_b ? S : dS) + static_cast<int64_t>(t.row0) * ld + m0;
  const E* big_all = is_b ? dY : X;
  const E* big = big_all + static_cast<int64_t>(t.row0) * d + n0;
  const bool big_aligned = rows_aligned(big_all, d);
  const int32_t cols = min(kGradCols, d - n0), ranks = min(kGradRank, r - m0);
  const int nk = (t.rows + kGradK - 1) / kGradK;
  auto load = [&](int kt) {
    if (kt < nk) {
      E* a = stage_mem + (kt % kStages) * (G::LayoutA::kElems + G::LayoutB::kElems);
      const int32_t k0 = kt * kGradK;
      copy_tile<E, kGradK, kGradCols, G::LayoutB::kLd>(a + G::LayoutA::kElems, big + static_cast<int64_t>(k0) * d, d, t.rows - k0, cols,
                                                       big_aligned);
      convert_tile<E, kGradK, kGradRank, G::LayoutA::kLd>(a, small + static_cast<int64_t>(k0) * ld, ld, t.rows - k0, ranks);
    }
    cp_async_commit();
  };
  float* c = multiply_stages<G>(stage_mem, nk, load, smem_raw);
  __syncthreads();
  const float scale = is_b ? seg.scales[t.adapter] : 1.0f;
  float* dst = is_b ? dB[t.adapter] : dA[t.adapter];
  for (int i = threadIdx.x; i < kGradRank * kGradCols; i += kThreads) {
    // dA is stored [d_in, r]: walk so that consecutive threads touch consecutive ranks there.
    const int j = is_b ? i / kGradCols : i % kGradRank;
    const int col = is_b ? i % kGradCols : i / kGradRank;
    if (j >= ranks || col >= cols) continue;
    const float v = scale * c[j * G::LDC + col];
    const int64_t at = is_b ? static_cast<int64_t>(m0 + j) * d + n0 + col : static_cast<int64_t>(n0 + col) * r + m0 + j;
    atomicAdd(dst + at, v);
  }
}

// Launches with `bytes` of dynamic shared memory, raising the kernel's limit when needed;
// grid.z > 1 launches clusters of (1, 1, grid.z) blocks.
template <typename Kernel, typename... Args>
cudaError_t launch(Kernel kernel, dim3 grid, int threads, size_t bytes, cudaStream_t stream, Args... args) {
  if (bytes > 48 * 1024) {
    const cudaError_t e = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(bytes));
    if (e != cudaSuccess) return e;
  }
  cudaLaunchConfig_t config = {};
  config.gridDim = grid;
  config.blockDim = dim3(threads);
  config.dynamicSmemBytes = bytes;
  config.stream = stream;
  cudaLaunchAttribute cluster;
  cluster.id = cudaLaunchAttributeClusterDimension;
  cluster.val.clusterDim.x = 1;
  cluster.val.clusterDim.y = 1;
  cluster.val.clusterDim.z = grid.z;
  config.attrs = &cluster;
  config.numAttrs = grid.z > 1 ? 1 : 0;
  return cudaLaunchKernelEx(&config, kernel, args...);
}

// Multiprocessors and compute capability of the current device.
struct DeviceInfo {
  int sms = 132, major = 9, minor = 0;
};
DeviceInfo current_device();

// How many blocks split d in a row-reduce launch: enough blocks to fill the GPU when the
// batch is short, at most 8 (a portable cluster), and only where clusters exist (sm_90+).
int reduce_splits(const alto_segments* seg, int32_t d, int32_t bk);

// Columns per block of the bf16 expand kernel (a multiple of 64): the whole width when the
// batch alone fills the GPU, narrower slices when it does not.
int32_t expand_span(const alto_segments* seg, int32_t d);

}  // namespace alto::cuda
