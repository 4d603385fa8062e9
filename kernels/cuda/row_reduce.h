// One row-reduce launch: out = big·W (W = A, the forward shrink) or s·big·Wᵀ (W = B,
// transposed_w, the backward dS); out is fp32 T × max_rank. bf16 storage, or fp32 storage with
// TF32 products.
#pragma once
#include <cuda_runtime.h>

#include "alto/kernels.h"

namespace alto::cuda {

cudaError_t row_reduce_bf16_launch(const alto_segments* seg, bool transposed_w, const void* big, int32_t d, const void* const* W, float* out,
                                   cudaStream_t stream);

cudaError_t row_reduce_tf32_launch(const alto_segments* seg, bool transposed_w, const void* big, int32_t d, const void* const* W, float* out,
                                   cudaStream_t stream);

}  // namespace alto::cuda
