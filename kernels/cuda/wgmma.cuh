// Hopper warpgroup MMA (wgmma): four warps multiply 64 rows by N columns with both operands
// read from shared memory by the tensor cores, described by 64-bit descriptors. Needs code
// built for sm_90a (the accelerated features of compute capability 9.0 exactly).
//
// Operand layouts used here: 64-element (128-byte) bf16 rows stored with the 128-byte swizzle
// (16-byte chunk c of row r at chunk c ^ (r mod 8)), tiles 1024-byte aligned, as the tensor
// copies of tma.cuh write them.
//   K-major (rows = M or N, 64 k per row): 8-row groups 1024 bytes apart (SBO); the k16 slice
//     kk starts 32·kk bytes into the rows.
//   MN-major (rows = k, 64 m or n per row): 8-row groups 1024 bytes apart (SBO); the k16 slice
//     kk starts 2048·kk bytes in (16 rows of 128 bytes).
#pragma once
#include <stdint.h>

#include "tma.cuh"

namespace alto::cuda::wgmma {

#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define ALTO_WGMMA 1
#endif

// Descriptor of a 128-byte-swizzled operand tile at shared address `smem_addr`.
__device__ __forceinline__ uint64_t descriptor(uint32_t smem_addr) {
  constexpr uint64_t kLbo = 1, kSbo = 1024 >> 4, kSwizzle128 = 1;
  return static_cast<uint64_t>((smem_addr & 0x3FFFF) >> 4) | (kLbo << 16) | (kSbo << 32) | (kSwizzle128 << 62);
}

#ifdef ALTO_WGMMA
__device__ __forceinline__ void fence() { asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory"); }
__device__ __forceinline__ void commit() { asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory"); }
template <int N>
__device__ __forceinline__ void wait() {
  asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(N) : "memory");
}
// Makes this thread's generic-proxy shared-memory writes (plain stores, cp.async) visible to
// the tensor cores' reads.
__device__ __forceinline__ void fence_generic_to_async() { asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory"); }

// d (+)= A·B, m64n64k16, bf16 in, fp32 accumulators in the mma.sync C layout per warp:
// d[j][0..1] = row 16·warp + g, columns 8j + 2t, +1; d[j][2..3] = row + 8 (g = lane / 4,
// t = lane % 4). kTransA / kTransB: A / B is MN-major (rows = k). accumulate = 0 ignores d's
// old values.
template <int kTransA, int kTransB>
__device__ __forceinline__ void mma_m64n64k16(float (&d)[8][4], uint64_t desc_a, uint64_t desc_b, int accumulate) {
  asm volatile(
      "{\n.reg .pred p;\nsetp.ne.b32 p, %34, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 {%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31}, %32, %33, p, 1, 1, %35, %36;\n}\n"
      : "+f"(d[0][0]), "+f"(d[0][1]), "+f"(d[0][2]), "+f"(d[0][3]), "+f"(d[1][0]), "+f"(d[1][1]), "+f"(d[1][2]), "+f"(d[1][3]), "+f"(d[2][0]), "+f"(d[2][1]), "+f"(d[2][2]), "+f"(d[2][3]), "+f"(d[3][0]), "+f"(d[3][1]), "+f"(d[3][2]), "+f"(d[3][3]), "+f"(d[4][0]), "+f"(d[4][1]), "+f"(d[4][2]), "+f"(d[4][3]), "+f"(d[5][0]), "+f"(d[5][1]), "+f"(d[5][2]), "+f"(d[5][3]), "+f"(d[6][0]), "+f"(d[6][1]), "+f"(d[6][2]), "+f"(d[6][3]), "+f"(d[7][0]), "+f"(d[7][1]), "+f"(d[7][2]), "+f"(d[7][3])
      : "l"(desc_a), "l"(desc_b), "r"(accumulate), "n"(kTransA), "n"(kTransB));
}

// The same with fp32 operands read as TF32 (their low 13 mantissa bits ignored), k8; both
// operands K-major (TF32 MMAs have no transposed form).
__device__ __forceinline__ void mma_m64n64k8_tf32(float (&d)[8][4], uint64_t desc_a, uint64_t desc_b, int accumulate) {
  asm volatile(
      "{\n.reg .pred p;\nsetp.ne.b32 p, %34, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n64k8.f32.tf32.tf32 {%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31}, %32, %33, p, 1, 1;\n}\n"
      : "+f"(d[0][0]), "+f"(d[0][1]), "+f"(d[0][2]), "+f"(d[0][3]), "+f"(d[1][0]), "+f"(d[1][1]), "+f"(d[1][2]), "+f"(d[1][3]), "+f"(d[2][0]), "+f"(d[2][1]), "+f"(d[2][2]), "+f"(d[2][3]), "+f"(d[3][0]), "+f"(d[3][1]), "+f"(d[3][2]), "+f"(d[3][3]), "+f"(d[4][0]), "+f"(d[4][1]), "+f"(d[4][2]), "+f"(d[4][3]), "+f"(d[5][0]), "+f"(d[5][1]), "+f"(d[5][2]), "+f"(d[5][3]), "+f"(d[6][0]), "+f"(d[6][1]), "+f"(d[6][2]), "+f"(d[6][3]), "+f"(d[7][0]), "+f"(d[7][1]), "+f"(d[7][2]), "+f"(d[7][3])
      : "l"(desc_a), "l"(desc_b), "r"(accumulate));
}

// The same with A from registers (four fp32 values read as TF32 per thread, in the layout of
// mma.m16n8k8's A fragment within each warp's 16 rows: a[0] (row g, k t), a[1] (g + 8, t),
// a[2] (g, t + 4), a[3] (g + 8, t + 4)), so A may be stored any way round; B K-major as above.
// The registers must not change until the MMA is known complete (wait).
__device__ __forceinline__ void mma_m64n64k8_tf32_rs(float (&d)[8][4], const uint32_t (&a)[4], uint64_t desc_b, int accumulate) {
  asm volatile(
      "{\n.reg .pred p;\nsetp.ne.b32 p, %37, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n64k8.f32.tf32.tf32 {%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31}, {%32, %33, %34, %35}, %36, p, 1, 1;\n}\n"
      : "+f"(d[0][0]), "+f"(d[0][1]), "+f"(d[0][2]), "+f"(d[0][3]), "+f"(d[1][0]), "+f"(d[1][1]), "+f"(d[1][2]), "+f"(d[1][3]), "+f"(d[2][0]), "+f"(d[2][1]), "+f"(d[2][2]), "+f"(d[2][3]), "+f"(d[3][0]), "+f"(d[3][1]), "+f"(d[3][2]), "+f"(d[3][3]), "+f"(d[4][0]), "+f"(d[4][1]), "+f"(d[4][2]), "+f"(d[4][3]), "+f"(d[5][0]), "+f"(d[5][1]), "+f"(d[5][2]), "+f"(d[5][3]), "+f"(d[6][0]), "+f"(d[6][1]), "+f"(d[6][2]), "+f"(d[6][3]), "+f"(d[7][0]), "+f"(d[7][1]), "+f"(d[7][2]), "+f"(d[7][3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(desc_b), "r"(accumulate));
}

// A consumer warp's release of ring stages with one group of MMAs kept in flight: after a
// stage's MMAs are issued and committed, the previous stage goes back to the producer (its
// `empty` barrier, one arrival per warp) once those earlier MMAs are known complete.
struct StageRelease {
  int previous = -1;
  __device__ __forceinline__ void issued(uint64_t* empty, int stage, int lane) {
    wait<1>();
    __syncwarp();
    if (previous >= 0 && lane == 0) tma::mbar_arrive(&empty[previous]);
    previous = stage;
  }
  // After a work item's last stage: every MMA complete, the last stage released.
  __device__ __forceinline__ void drain(uint64_t* empty, int lane) {
    wait<0>();
    __syncwarp();
    if (previous >= 0 && lane == 0) tma::mbar_arrive(&empty[previous]);
    previous = -1;
  }
};
#endif

}  // namespace alto::cuda::wgmma
