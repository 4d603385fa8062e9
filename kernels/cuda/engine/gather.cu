// Data movement: box copies (slice, concat, pad, tile, broadcast), gather and its gradient
// (segment sums), one-hot, running sums and products.
#include "engine_impl.h"

using namespace alto::cuda;

namespace {

struct Box {
  int64_t size[ALTO_ENGINE_MAX_RANK];
  int64_t src[ALTO_ENGINE_MAX_RANK];
  int64_t dst[ALTO_ENGINE_MAX_RANK];
  int32_t rank;
};

template <typename T>
__global__ void copy_box_kernel(const T* src, T* dst, Box box, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    int64_t rest = i, s = 0, d = 0;
    for (int k = box.rank - 1; k >= 0; --k) {
      const int64_t c = rest % box.size[k];
      rest /= box.size[k];
      s += c * box.src[k];
      d += c * box.dst[k];
    }
    dst[d] = src[s];
  }
}

template <typename T>
__global__ void gather_kernel(const T* x, const int32_t* idx, T* y, int64_t outer, int64_t axis_dim, int64_t inner, int64_t num_indices, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t k = i % inner, j = (i / inner) % num_indices, bo = i / (inner * num_indices), b = bo / outer;
    const int32_t at = idx[b * num_indices + j];
    y[i] = (at >= 0 && at < axis_dim) ? x[(bo * axis_dim + at) * inner + k] : T(0);
  }
}

template <typename T>
__global__ void scan_kernel(const T* x, T* y, int64_t n, int64_t inner, int64_t columns, int product, int exclusive, int reverse) {
  for (int64_t c = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; c < columns; c += int64_t(gridDim.x) * blockDim.x) {
    const int64_t o = c / inner, k = c % inner;
    T acc = product ? T(1) : T(0);
    for (int64_t s = 0; s < n; ++s) {
      const int64_t j = reverse ? n - 1 - s : s, at = (o * n + j) * inner + k;
      const T v = x[at];
      if (exclusive) {
        y[at] = acc;
        acc = product ? acc * v : acc + v;
      } else {
        acc = product ? acc * v : acc + v;
        y[at] = acc;
      }
    }
  }
}

template <typename T>
__global__ void segment_sum_kernel(const T* x, const int32_t* ids, T* y, int64_t inner, int64_t num_segments, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t row = i / inner, k = i % inner;
    const int32_t s = ids[row];
    if (s >= 0 && s < num_segments) atomicAdd(y + s * inner + k, x[i]);
  }
}

template <typename T>
__global__ void one_hot_kernel(const int32_t* idx, T* y, int64_t depth, T on, T off, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    y[i] = idx[i / depth] == i % depth ? on : off;
  }
}

}  // namespace

extern "C" alto_status alto_engine_copy_box(alto_engine* e, int32_t elem_bytes, const void* src, int64_t src_offset, const int64_t* src_strides,
                                            void* dst, int64_t dst_offset, const int64_t* dst_strides, const int64_t* size, int32_t rank) {
  if (alto_status st = engine_enter(e); st != ALTO_OK) return st;
  if (rank < 1 || rank > ALTO_ENGINE_MAX_RANK) return engine_invalid(e, "copy_box: rank out of range");
  Box box{};
  box.rank = rank;
  int64_t n = 1;
  for (int d = 0; d < rank; ++d) {
    box.size[d] = size[d];
    box.src[d] = src_strides[d];
    box.dst[d] = dst_strides[d];
    n *= size[d];
  }
  if (n <= 0) return ALTO_OK;
  switch (elem_bytes) {
    case 1: copy_box_kernel<<<grid_for(n), 256, 0, e->stream>>>(static_cast<const uint8_t*>(src) + src_offset, static_cast<uint8_t*>(dst) + dst_offset, box, n); break;
    case 4: copy_box_kernel<<<grid_for(n), 256, 0, e->stream>>>(static_cast<const uint32_t*>(src) + src_offset, static_cast<uint32_t*>(dst) + dst_offset, box, n); break;
    case 8: copy_box_kernel<<<grid_for(n), 256, 0, e->stream>>>(static_cast<const uint64_t*>(src) + src_offset, static_cast<uint64_t*>(dst) + dst_offset, box, n); break;
    default: return engine_invalid(e, "copy_box: element size must be 1, 4 or 8 bytes");
  }
  return engine_status(e, cudaGetLastError(), "copy_box");
}

extern "C" alto_status alto_engine_gather(alto_engine* e, int32_t elem_bytes, const void* x, const int32_t* indices, void* y, int64_t batch,
                                          int64_t outer, int64_t axis_dim, int64_t inner, int64_t num_indices) {
  if (alto_status st = engine_enter(e); st != ALTO_OK) return st;
  const int64_t n = batch * outer * num_indices * inner;
  if (n <= 0) return ALTO_OK;
  switch (elem_bytes) {
    case 1: gather_kernel<<<grid_for(n), 256, 0, e->stream>>>(static_cast<const uint8_t*>(x), indices, static_cast<uint8_t*>(y), outer, axis_dim, inner, num_indices, n); break;
    case 4: gather_kernel<<<grid_for(n), 256, 0, e->stream>>>(static_cast<const uint32_t*>(x), indices, static_cast<uint32_t*>(y), outer, axis_dim, inner, num_indices, n); break;
    default: return engine_invalid(e, "gather: element size must be 1 or 4 bytes");
  }
  return engine_status(e, cudaGetLastError(), "gather");
}

extern "C" alto_status alto_engine_scan(alto_engine* e, alto_elem type, int32_t product, const void* x, void* y, int64_t outer, int64_t n,
                                        int64_t inner, int32_t exclusive, int32_t reverse) {
  if (alto_status st = engine_enter(e); st != ALTO_OK) return st;
  const int64_t columns = outer * inner;
  if (columns <= 0 || n <= 0) return ALTO_OK;
  if (type == ALTO_ELEM_F32) scan_kernel<<<grid_for(columns), 256, 0, e->stream>>>(static_cast<const float*>(x), static_cast<float*>(y), n, inner, columns, product, exclusive, reverse);
  else if (type == ALTO_ELEM_I32) scan_kernel<<<grid_for(columns), 256, 0, e->stream>>>(static_cast<const int32_t*>(x), static_cast<int32_t*>(y), n, inner, columns, product, exclusive, reverse);
  else return engine_invalid(e, "scan: f32 or i32 only");
  return engine_status(e, cudaGetLastError(), "scan");
}

extern "C" alto_status alto_engine_segment_sum(alto_engine* e, alto_elem type, const void* x, const int32_t* ids, void* y, int64_t rows,
                                               int64_t inner, int64_t num_segments) {
  if (alto_status st = engine_enter(e); st != ALTO_OK) return st;
  if (type != ALTO_ELEM_F32 && type != ALTO_ELEM_I32) return engine_invalid(e, "segment_sum: f32 or i32 only");
  if (num_segments * inner > 0) {
    const cudaError_t z = cudaMemsetAsync(y, 0, static_cast<size_t>(num_segments * inner) * 4, e->stream);
    if (z != cudaSuccess) return engine_status(e, z, "segment_sum");
  }
  const int64_t n = rows * inner;
  if (n <= 0) return ALTO_OK;
  if (type == ALTO_ELEM_F32) segment_sum_kernel<<<grid_for(n), 256, 0, e->stream>>>(static_cast<const float*>(x), ids, static_cast<float*>(y), inner, num_segments, n);
  else segment_sum_kernel<<<grid_for(n), 256, 0, e->stream>>>(static_cast<const int32_t*>(x), ids, static_cast<int32_t*>(y), inner, num_segments, n);
  return engine_status(e, cudaGetLastError(), "segment_sum");
}

extern "C" alto_status alto_engine_one_hot(alto_engine* e, alto_elem type, const int32_t* indices, void* y, int64_t n, int64_t depth, double on,
                                           double off) {
  if (alto_status st = engine_enter(e); st != ALTO_OK) return st;
  const int64_t total = n * depth;
  if (total <= 0) return ALTO_OK;
  switch (type) {
    case ALTO_ELEM_F32: one_hot_kernel<<<grid_for(total), 256, 0, e->stream>>>(indices, static_cast<float*>(y), depth, float(on), float(off), total); break;
    case ALTO_ELEM_I32: one_hot_kernel<<<grid_for(total), 256, 0, e->stream>>>(indices, static_cast<int32_t*>(y), depth, int32_t(on), int32_t(off), total); break;
    case ALTO_ELEM_U8: one_hot_kernel<<<grid_for(total), 256, 0, e->stream>>>(indices, static_cast<uint8_t*>(y), depth, uint8_t(on != 0), uint8_t(off != 0), total); break;
    default: return engine_invalid(e, "one_hot: unknown element type");
  }
  return engine_status(e, cudaGetLastError(), "one_hot");
}
