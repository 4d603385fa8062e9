// Many buffers copied in one launch: blockIdx.y picks the buffer, the blocks along x stride over
// its 16-byte units (then its 4-byte tail). Snapshots of an adapter's weights are hundreds of
// small tensors; one copy kernel each would cost a launch apiece.
#include <vector>

#include "engine_impl.h"

using namespace alto::cuda;

namespace {

struct CopyItem {
  void* dst;
  const void* src;
  int64_t words;  // 4-byte words
};

__global__ void copy_items(const CopyItem* items) {
  const CopyItem it = items[blockIdx.y];
  const int64_t first = blockIdx.x * int64_t(blockDim.x) + threadIdx.x, stride = int64_t(gridDim.x) * blockDim.x;
  const bool vec = reinterpret_cast<uintptr_t>(it.dst) % 16 == 0 && reinterpret_cast<uintptr_t>(it.src) % 16 == 0;
  int64_t done = 0;
  if (vec) {
    const int64_t quads = it.words / 4;
    for (int64_t i = first; i < quads; i += stride) static_cast<uint4*>(it.dst)[i] = static_cast<const uint4*>(it.src)[i];
    done = quads * 4;
  }
  for (int64_t i = done + first; i < it.words; i += stride) static_cast<uint32_t*>(it.dst)[i] = static_cast<const uint32_t*>(it.src)[i];
}

}  // namespace

extern "C" alto_status alto_engine_copy_many(alto_engine* e, void* const* dst, const void* const* src, const int64_t* bytes, int64_t count) {
  if (alto_status st = engine_enter(e); st != ALTO_OK) return st;
  if (count < 0 || count > 65535) return engine_invalid(e, "copy_many: needs 0..65535 buffers per call");
  if (count == 0) return ALTO_OK;
  std::vector<CopyItem> table(static_cast<size_t>(count));
  int64_t largest = 0;
  for (int64_t i = 0; i < count; ++i) {
    if (bytes[i] < 0 || bytes[i] % 4 != 0) return engine_invalid(e, "copy_many: sizes must be whole 4-byte words");
    table[i] = {dst[i], src[i], bytes[i] / 4};
    largest = table[i].words > largest ? table[i].words : largest;
  }
  void* device_table = nullptr;
  const size_t table_bytes = table.size() * sizeof(CopyItem);
  cudaError_t err = e->pool->alloc(table_bytes, &device_table);
  if (err != cudaSuccess) return engine_status(e, err, "copy_many (table)");
  err = ring_upload(e, device_table, table.data(), table_bytes);
  if (err == cudaSuccess && largest > 0) {
    constexpr int threads = 256;
    const int64_t blocks = (largest / 4 + threads - 1) / threads;
    const dim3 grid(static_cast<unsigned>(blocks < 64 ? (blocks > 0 ? blocks : 1) : 64), static_cast<unsigned>(count));
    copy_items<<<grid, threads, 0, e->stream>>>(static_cast<const CopyItem*>(device_table));
    err = cudaGetLastError();
  }
  e->pool->free(device_table);
  return engine_status(e, err, "copy_many");
}
