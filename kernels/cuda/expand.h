// One expand launch: out = base + s·small·W (W = B, forward) or base + small·Wᵀ (W = A,
// transposed_w, backward dX); small is fp32 T × max_rank. bf16 storage, or fp32 storage with
// TF32 products.
#pragma once
#include <cuda_runtime.h>

#include "alto/kernels.h"

namespace alto::cuda {

cudaError_t expand_bf16_launch(const alto_segments* seg, bool transposed_w, const float* small, const void* const* W, int32_t d,
                               const void* base, void* out, cudaStream_t stream);
cudaError_t expand_tf32_launch(const alto_segments* seg, bool transposed_w, const float* small, const void* const* W, int32_t d,
                               const void* base, void* out, cudaStream_t stream);

}  // namespace alto::cuda
