// The tile products of the tiled attention kernels on the tensor cores: WMMA 16 × 16 × 8
// fragments with inputs rounded to TF32 and fp32 sums, 8 warps. Results go to shared memory,
// where the threads of the tiled kernels read them in their own layout (see
// attention_tiled.cuh), so the softmax and masking code is the same with and without them.
// Operand tiles need strides that are multiples of 4 floats and 32-byte aligned bases:
// kTcLd(dh) = dh + 4 for [64, dh] tiles, kTcScoreLd = 68 for 64 × 64 tiles.
#pragma once
#include <mma.h>

namespace alto::cuda::attention_tiled::tc {

constexpr int kScoreLd = 64 + 4;
__host__ __device__ constexpr int row_ld(int dh) { return dh + 4; }

using namespace nvcuda;
using FragC = wmma::fragment<wmma::accumulator, 16, 16, 8, float>;

// Rows [row0, row0 + 64) of a [T, dh] matrix into s (stride row_ld(dh)) by 16-byte
// asynchronous copies (zeros past T), all in flight at once; `landed` waits for them (the
// caller's barrier follows). Element loads would wait on each other: the compiler cannot move
// a global load past a store to a generic pointer. The launcher checks 16-byte alignment.
__device__ __forceinline__ void load_rows(float* s, const float* g, int64_t row0, int64_t T, int dh) {
  const int ld = row_ld(dh), per_row = dh / 4;
  for (int i = threadIdx.x; i < 64 * per_row; i += 256) {
    const int r = i / per_row, c = (i - r * per_row) * 4;
    const bool inside = row0 + r < T;
    const float* src = inside ? g + (row0 + r) * dh + c : g;
    const unsigned dst = static_cast<unsigned>(__cvta_generic_to_shared(s + r * ld + c));
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(src), "r"(inside ? 16 : 0));
  }
}
__device__ __forceinline__ void landed() { asm volatile("cp.async.commit_group;\ncp.async.wait_group 0;\n" ::); }

template <typename Frag>
__device__ __forceinline__ void round_tf32(Frag& f) {
#pragma unroll
  for (int t = 0; t < f.num_elements; ++t) f.x[t] = wmma::__float_to_tf32(f.x[t]);
}

// out[64 × 64] (stride kScoreLd) = a[64 × dh] · b[64 × dh]ᵀ, both of stride row_ld(dh).
// Warp w computes rows 16·(w / 2) and columns 32·(w % 2) .. + 31 (two fragments).
template <int dh>
__device__ __forceinline__ void scores(float* out, const float* a, const float* b) {
  constexpr int ld = row_ld(dh);
  const int w = threadIdx.x >> 5, m0 = 16 * (w >> 1), n0 = 32 * (w & 1);
  FragC c[2];
  wmma::fill_fragment(c[0], 0.0f);
  wmma::fill_fragment(c[1], 0.0f);
#pragma unroll
  for (int k = 0; k < dh; k += 8) {
    wmma::fragment<wmma::matrix_a, 16, 16, 8, wmma::precision::tf32, wmma::row_major> fa;
    wmma::load_matrix_sync(fa, a + m0 * ld + k, ld);
    round_tf32(fa);
#pragma unroll
    for (int j = 0; j < 2; ++j) {
      // b's rows are the product's columns: b read as a column-major k × n operand.
      wmma::fragment<wmma::matrix_b, 16, 16, 8, wmma::precision::tf32, wmma::col_major> fb;
      wmma::load_matrix_sync(fb, b + (n0 + 16 * j) * ld + k, ld);
      round_tf32(fb);
      wmma::mma_sync(c[j], fa, fb, c[j]);
    }
  }
#pragma unroll
  for (int j = 0; j < 2; ++j) wmma::store_matrix_sync(out + m0 * kScoreLd + n0 + 16 * j, c[j], kScoreLd, wmma::mem_row_major);
}

// out[64 × dh] (stride row_ld(dh)) = w[64 × 64] (stride kScoreLd) · m[64 × dh] (stride
// row_ld(dh)). The 4 · dh / 16 output fragments are dealt to the 8 warps in turn.
template <int dh>
__device__ __forceinline__ void product(float* out, const float* w, const float* m) {
  constexpr int ld = row_ld(dh), U = dh / 16;
  for (int f = threadIdx.x >> 5; f < 4 * U; f += 8) {
    const int r0 = 16 * (f / U), c0 = 16 * (f % U);
    FragC c;
    wmma::fill_fragment(c, 0.0f);
#pragma unroll
    for (int k = 0; k < 64; k += 8) {
      wmma::fragment<wmma::matrix_a, 16, 16, 8, wmma::precision::tf32, wmma::row_major> fa;
      wmma::fragment<wmma::matrix_b, 16, 16, 8, wmma::precision::tf32, wmma::row_major> fb;
      wmma::load_matrix_sync(fa, w + r0 * kScoreLd + k, kScoreLd);
      wmma::load_matrix_sync(fb, m + k * ld + c0, ld);
      round_tf32(fa);
      round_tf32(fb);
      wmma::mma_sync(c, fa, fb, c);
    }
    wmma::store_matrix_sync(out + r0 * ld + c0, c, ld, wmma::mem_row_major);
  }
}

}  // namespace alto::cuda::attention_tiled::tc
