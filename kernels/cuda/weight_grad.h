// The bf16 weight gradients on Hopper's wgmma kernel (weight_grad_tma.cuh), when it applies:
// built for sm_90a and running on compute capability 9.0, ranks ≤ 64, 16-byte aligned rows
// and matrices, tensor maps made. cudaErrorNotSupported otherwise (nothing launched).
#pragma once
#include <cuda_runtime.h>

#include "alto/kernels.h"

namespace alto::cuda {

// small16: room for bf16 copies of S and dS, T × 64 each (made here, zeros past max_rank).
cudaError_t weight_grad_tma_launch(const alto_segments* seg, const void* X, int32_t d_in, const void* dY, int32_t d_out, const float* S,
                                   const float* dS, void* small16, float* const* dA, float* const* dB, cudaStream_t stream);

// The TF32 weight gradients on the bulk-tensor + mma.sync kernel (weight_grad_tma_tf32.cuh):
// compute capability 9.0, ranks ≤ 64 (max_rank a multiple of 4), d_in and d_out multiples of 4,
// 16-byte aligned matrices, tensor maps made. cudaErrorNotSupported otherwise.
cudaError_t weight_grad_tf32_launch(const alto_segments* seg, const float* X, int32_t d_in, const float* dY, int32_t d_out, const float* S,
                                    const float* dS, float* const* dA, float* const* dB, cudaStream_t stream);

}  // namespace alto::cuda
