#include "tma_map.h"

#include <cudaTypedefs.h>
#include <cuda_runtime.h>

namespace alto::cuda {
namespace {

PFN_cuTensorMapEncodeTiled_v12000 encoder() {
  static PFN_cuTensorMapEncodeTiled_v12000 fn = [] {
    void* p = nullptr;
    cudaDriverEntryPointQueryResult status;
    if (cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &p, 12000, cudaEnableDefault, &status) != cudaSuccess ||
        status != cudaDriverEntryPointSuccess) {
      cudaGetLastError();
      p = nullptr;
    }
    return reinterpret_cast<PFN_cuTensorMapEncodeTiled_v12000>(p);
  }();
  return fn;
}

bool encode_map(CUtensorMap* map, CUtensorMapDataType type, uint32_t elem_bytes, const void* ptr, int64_t rows, int64_t cols, uint32_t box_rows,
                uint32_t box_cols, CUtensorMapSwizzle swizzle) {
  const auto encode = encoder();
  if (!encode) return false;
  const cuuint64_t dims[2] = {static_cast<cuuint64_t>(cols), static_cast<cuuint64_t>(rows)};
  const cuuint64_t strides[1] = {static_cast<cuuint64_t>(cols) * elem_bytes};
  const cuuint32_t box[2] = {box_cols, box_rows}, unit[2] = {1, 1};
  return encode(map, type, 2, const_cast<void*>(ptr), dims, strides, box, unit, CU_TENSOR_MAP_INTERLEAVE_NONE, swizzle,
                CU_TENSOR_MAP_L2_PROMOTION_L2_128B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE) == CUDA_SUCCESS;
}

}  // namespace

bool tma_tile_map(CUtensorMap* map, const void* ptr, int64_t rows, int64_t cols, uint32_t box_rows) {
  return encode_map(map, CU_TENSOR_MAP_DATA_TYPE_BFLOAT16, 2, ptr, rows, cols, box_rows, 64, CU_TENSOR_MAP_SWIZZLE_128B);
}

bool tma_f32_map(CUtensorMap* map, const void* ptr, int64_t rows, int64_t cols, uint32_t box_rows) {
  return encode_map(map, CU_TENSOR_MAP_DATA_TYPE_FLOAT32, 4, ptr, rows, cols, box_rows, 64, CU_TENSOR_MAP_SWIZZLE_NONE);
}

bool tma_f32_tile_map(CUtensorMap* map, const void* ptr, int64_t rows, int64_t cols, uint32_t box_rows) {
  return encode_map(map, CU_TENSOR_MAP_DATA_TYPE_FLOAT32, 4, ptr, rows, cols, box_rows, 32, CU_TENSOR_MAP_SWIZZLE_128B);
}

}  // namespace alto::cuda
