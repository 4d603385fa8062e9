// The CUDA entry points of a build without a CUDA compiler: they report ALTO_ERR_UNSUPPORTED.
#include "alto/kernels.h"

extern "C" {
int32_t alto_cuda_compiled(void) { return 0; }
int32_t alto_cuda_device_count(void) { return 0; }
size_t alto_cuda_backward_workspace(const alto_segments*) { return 0; }
alto_status alto_cuda_shrink(const alto_segments*, alto_dtype, const void*, int32_t, const void* const*, float*, void*) {
  return ALTO_ERR_UNSUPPORTED;
}
alto_status alto_cuda_expand(const alto_segments*, alto_dtype, const float*, const void* const*, int32_t, const void*, void*, void*) {
  return ALTO_ERR_UNSUPPORTED;
}
alto_status alto_cuda_backward(const alto_segments*, alto_dtype, const void*, int32_t, const void*, int32_t, const void* const*,
                               const void* const*, const float*, const void*, void*, float* const*, float* const*, void*,
                               size_t, void*) {
  return ALTO_ERR_UNSUPPORTED;
}
}
