// Build and device queries of the CUDA part.
#include <cuda_runtime.h>

#include "alto/kernels.h"

extern "C" int32_t alto_cuda_compiled(void) { return 1; }

extern "C" int32_t alto_cuda_device_count(void) {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky "no driver" error
    return 0;
  }
  return count;
}
