// The streaming passes (kernels_pass.cuh) for bf16 calls with ranks up to 64 and 16-byte
// aligned rows: the shrink and the whole backward. forward.cu and backward.cu use them where
// `pass_fits` says so and take the general kernels otherwise.
#pragma once
#include <cuda_runtime.h>

#include <initializer_list>

#include "alto/kernels.h"

namespace alto::cuda {

// True when the streaming passes can serve a call: bf16 pointers 16-byte aligned, every d a
// multiple of 8 and at most 4096 (a row-pass cluster of at most 16 slices), ranks ≤ 64,
// and a GPU with thread-block clusters (sm_90+).
bool pass_fits(const alto_segments* seg, std::initializer_list<int32_t> dims, std::initializer_list<const void*> rows);

// Bytes of the backward workspace the passes use (dS in bf16, T × padded rank).
size_t pass_workspace(const alto_segments* seg);

cudaError_t pass_shrink(const alto_segments* seg, const void* X, int32_t d_in, const void* const* A, float* S, cudaStream_t stream);
cudaError_t pass_backward(const alto_segments* seg, const void* X, int32_t d_in, const void* dY, int32_t d_out, const void* const* A,
                          const void* const* B, const float* S, const void* dx_base, void* dX, float* const* dA, float* const* dB,
                          void* workspace, cudaStream_t stream);

}  // namespace alto::cuda
