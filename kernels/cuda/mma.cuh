// Tensor-core primitives of the mma.sync kernels: ldmatrix (shared memory → fragments),
// mma.sync m16n8k16 (bf16 in, fp32 accumulate) and m16n8k8 (fp32 read as TF32), with the lane
// addressing of each operand layout. Fragment layout (g = lane / 4, t = lane % 4):
//   bf16 A m16×k16: a0 (g, 2t..2t+1)  a1 (g+8, 2t..)  a2 (g, 2t+8..)  a3 (g+8, 2t+8..)
//   bf16 B k16×n8:  b0 (k 2t..2t+1, n g)  b1 (k 2t+8.., n g)
//   TF32 A m16×k8:  a0 (g, t)  a1 (g+8, t)  a2 (g, t+4)  a3 (g+8, t+4)
//   TF32 B k8×n8:   b0 (k t, n g)  b1 (k t+4, n g)
//   C m16×n8:       c0,c1 (g, 2t..2t+1)   c2,c3 (g+8, 2t..2t+1)
#pragma once
#include <stdint.h>

namespace alto::cuda::mma {

__device__ __forceinline__ unsigned smem_addr(const void* p) { return static_cast<unsigned>(__cvta_generic_to_shared(p)); }

// Four 8×8 b16 matrices; lane l supplies the address of row l % 8 of matrix l / 8.
__device__ __forceinline__ void ldmatrix_x4(unsigned (&r)[4], const void* row) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(smem_addr(row)));
}
__device__ __forceinline__ void ldmatrix_x4_trans(unsigned (&r)[4], const void* row) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(smem_addr(row)));
}

__device__ __forceinline__ void mma_bf16(float (&c)[4], const unsigned (&a)[4], unsigned b0, unsigned b1) {
  asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
               : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

// fp32 bits read as TF32 (the low 13 mantissa bits ignored, as the wgmma TF32 kernels read
// their shared operands).
__device__ __forceinline__ void mma_tf32(float (&c)[4], const unsigned (&a)[4], unsigned b0, unsigned b1) {
  asm volatile("mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
               : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

// Element offset of the row this lane hands to ldmatrix_x4, for one 16×16 block of a tile
// with leading dimension ld:
//   A stored [m][k] (plain)  → a0..a3        A stored [k][m] (trans) → a0..a3
//   B stored [n][k] (plain)  → b0,b1 of n-tiles 0 and 1
//   B stored [k][n] (trans)  → b0,b1 of n-tiles 0 and 1
__device__ __forceinline__ int lane_a_mk(int ld) {
  const int l = threadIdx.x & 31, mi = l >> 3;
  return ((mi & 1) * 8 + (l & 7)) * ld + (mi >> 1) * 8;
}
__device__ __forceinline__ int lane_a_km(int ld) {
  const int l = threadIdx.x & 31, mi = l >> 3;
  return ((mi >> 1) * 8 + (l & 7)) * ld + (mi & 1) * 8;
}
__device__ __forceinline__ int lane_b_nk(int ld) { return lane_a_km(ld); }
__device__ __forceinline__ int lane_b_kn(int ld) { return lane_a_mk(ld); }

}  // namespace alto::cuda::mma
