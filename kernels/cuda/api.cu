// Build and device queries of the CUDA part.
#include <cuda_runtime.h>

#include <algorithm>

#include "kernels.cuh"

extern "C" int32_t alto_cuda_compiled(void) { return 1; }

extern "C" int32_t alto_cuda_device_count(void) {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky "no driver" error
    return 0;
  }
  return count;
}

namespace alto::cuda {

DeviceInfo current_device() {
  static DeviceInfo cache[64];
  static bool known[64] = {};
  int device = 0;
  if (cudaGetDevice(&device) != cudaSuccess || device < 0 || device >= 64) return DeviceInfo{};
  if (!known[device]) {
    DeviceInfo info;
    cudaDeviceGetAttribute(&info.sms, cudaDevAttrMultiProcessorCount, device);
    cudaDeviceGetAttribute(&info.major, cudaDevAttrComputeCapabilityMajor, device);
    cudaDeviceGetAttribute(&info.minor, cudaDevAttrComputeCapabilityMinor, device);
    cache[device] = info;
    known[device] = true;
  }
  return cache[device];
}

int reduce_splits(const alto_segments* seg, int32_t d, int32_t bk) {
  const DeviceInfo dev = current_device();
  if (dev.major < 9) return 1;
  const int64_t blocks = (static_cast<int64_t>(seg->total_rows) + kReduceRows - 1) / kReduceRows *
                         ((seg->max_rank + kReduceCols - 1) / kReduceCols);
  const int64_t want = (3LL * dev.sms + blocks - 1) / std::max<int64_t>(blocks, 1);
  const int64_t k_tiles = (d + bk - 1) / bk;
  return static_cast<int>(std::max<int64_t>(1, std::min<int64_t>({want, 8, k_tiles})));
}

int32_t expand_span(const alto_segments* seg, int32_t d) {
  const int64_t row_tiles = std::max<int64_t>(1, (static_cast<int64_t>(seg->total_rows) + 63) / 64);
  const int64_t steps = (d + 63) / 64;
  const int64_t splits = std::max<int64_t>(1, std::min<int64_t>(steps, (4LL * current_device().sms + row_tiles - 1) / row_tiles));
  return static_cast<int32_t>((steps + splits - 1) / splits * 64);
}

}  // namespace alto::cuda
