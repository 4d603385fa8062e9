// Hopper bulk-tensor copies (TMA) and the shared-memory barriers they complete on.
// A tile copy is one instruction from one thread; the copy engine computes the addresses,
// zero-fills what lies outside the matrix and, with the 128-byte swizzle, lays 64-element
// bf16 rows out so that 16-byte chunk c of row r sits at chunk c ^ (r mod 8).
#pragma once
#include <cuda.h>
#include <stdint.h>

// Kernels built on these copies run on compute capability 9.0+ only (their launchers check);
// in a build that also targets older GPUs their bodies are left out of that code.
#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 900
#define ALTO_TMA 1
#endif

namespace alto::cuda::tma {

__device__ __forceinline__ uint32_t smem(const void* p) { return static_cast<uint32_t>(__cvta_generic_to_shared(p)); }

__device__ __forceinline__ void mbar_init(uint64_t* bar, uint32_t count) {
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(smem(bar)), "r"(count) : "memory");
}
// Makes initialised barriers visible to the copy engine.
__device__ __forceinline__ void mbar_fence_init() { asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory"); }

__device__ __forceinline__ void mbar_expect_tx(uint64_t* bar, uint32_t bytes) {
  asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\n" ::"r"(smem(bar)), "r"(bytes) : "memory");
}

// One arrival, made when this thread's earlier cp.async copies have landed (the barrier's
// expected count includes it).
__device__ __forceinline__ void mbar_arrive_after_cp_async(uint64_t* bar) {
  asm volatile("cp.async.mbarrier.arrive.noinc.shared::cta.b64 [%0];\n" ::"r"(smem(bar)) : "memory");
}

// One arrival (no transaction bytes): a consumer hands its stage back.
__device__ __forceinline__ void mbar_arrive(uint64_t* bar) {
  asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];\n" ::"r"(smem(bar)) : "memory");
}

__device__ __forceinline__ void mbar_wait(uint64_t* bar, uint32_t parity) {
  uint32_t done = 0;
  while (!done) {
    asm volatile(
        "{\n .reg .pred p;\n mbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2;\n selp.u32 %0, 1, 0, p;\n}\n"
        : "=r"(done)
        : "r"(smem(bar)), "r"(parity)
        : "memory");
  }
}

// Global → shared: the box at (x = column, y = row) of `map`, completing on `bar`.
__device__ __forceinline__ void load_2d(void* dst, const CUtensorMap* map, int32_t x, int32_t y, uint64_t* bar) {
  asm volatile("cp.async.bulk.tensor.2d.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1, {%2, %3}], [%4];\n" ::"r"(smem(dst)),
               "l"(reinterpret_cast<uint64_t>(map)), "r"(x), "r"(y), "r"(smem(bar))
               : "memory");
}

// Global → shared: `bytes` contiguous bytes (a multiple of 16, both ends 16-byte aligned),
// completing on `bar`.
__device__ __forceinline__ void load_1d(void* dst, const void* src, uint32_t bytes, uint64_t* bar) {
  asm volatile("cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1], %2, [%3];\n" ::"r"(smem(dst)),
               "l"(reinterpret_cast<uint64_t>(src)), "r"(bytes), "r"(smem(bar))
               : "memory");
}

// Shared → global: the box at (x, y); parts outside the matrix are not written.
__device__ __forceinline__ void store_2d(const CUtensorMap* map, int32_t x, int32_t y, const void* src) {
  asm volatile("cp.async.bulk.tensor.2d.global.shared::cta.bulk_group [%0, {%1, %2}], [%3];\n" ::"l"(reinterpret_cast<uint64_t>(map)), "r"(x),
               "r"(y), "r"(smem(src))
               : "memory");
}
__device__ __forceinline__ void store_commit() { asm volatile("cp.async.bulk.commit_group;\n" ::: "memory"); }
// Waits until at most N committed stores still read shared memory.
template <int N>
__device__ __forceinline__ void store_wait_read() {
  asm volatile("cp.async.bulk.wait_group.read %0;\n" ::"n"(N) : "memory");
}
template <int N>
__device__ __forceinline__ void store_wait() {
  asm volatile("cp.async.bulk.wait_group %0;\n" ::"n"(N) : "memory");
}
// Orders this thread's ordinary shared-memory writes before later bulk copies read them.
__device__ __forceinline__ void fence_async_smem() { asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory"); }

// Element offset of (row, col) in a 64-column bf16 tile stored with the 128-byte swizzle.
__device__ __forceinline__ int swizzled(int row, int col) { return row * 64 + ((((col >> 3) ^ row) & 7) << 3) + (col & 7); }
// The same for any element type: 128-byte rows of 16-byte chunks, chunk c of row r at c ^ (r mod 8).
template <typename E>
__device__ __forceinline__ int swizzled(int row, int col) {
  constexpr int kPerChunk = 16 / sizeof(E);
  return row * 8 * kPerChunk + ((((col / kPerChunk) ^ row) & 7) * kPerChunk) + col % kPerChunk;
}

// A warp's 16 rows of a tile of kStep-column, 128-byte swizzled rows (16-byte chunks, chunk c
// of row r at c ^ (r mod 8)), to out (row stride d) from row0 and column n0: one bulk store of
// the 16-row box when the whole tile belongs to the segment (bulk_ok), else 16-byte stores of
// the `rows` rows that do, so that the next segment's rows stay untouched.
template <int kStep, typename E>
__device__ __forceinline__ void store_warp_rows(const CUtensorMap* map, const E* slab, E* out, int32_t d, int32_t row0, int32_t n0, int rows,
                                                bool bulk_ok, int lane) {
  constexpr int kPerChunk = 16 / sizeof(E);
  static_assert(kStep * sizeof(E) == 128, "rows of 128 bytes");
  if (bulk_ok) {
    fence_async_smem();
    __syncwarp();
    if (lane == 0) {
      store_2d(map, n0, row0, slab);
      store_commit();
    }
  } else {
    __syncwarp();
    const int cols = min(kStep, d - n0);
    for (int i = lane; i < 16 * 8; i += 32) {
      const int row = i >> 3, c = (i & 7) * kPerChunk;
      if (row < rows && c < cols) {
        *reinterpret_cast<uint4*>(out + static_cast<int64_t>(row0 + row) * d + n0 + c) = *reinterpret_cast<const uint4*>(slab + swizzled<E>(row, c));
      }
    }
  }
}

}  // namespace alto::cuda::tma
