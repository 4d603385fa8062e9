#include "vmm.h"

#include <cuda.h>
#include <cuda_runtime.h>

#include <mutex>

namespace alto::cuda {
namespace {

struct Driver {
  CUresult (*deviceGet)(CUdevice*, int) = nullptr;
  CUresult (*deviceGetAttribute)(int*, CUdevice_attribute, CUdevice) = nullptr;
  CUresult (*granularity)(size_t*, const CUmemAllocationProp*, CUmemAllocationGranularity_flags) = nullptr;
  CUresult (*addressReserve)(CUdeviceptr*, size_t, size_t, CUdeviceptr, unsigned long long) = nullptr;
  CUresult (*addressFree)(CUdeviceptr, size_t) = nullptr;
  CUresult (*create)(CUmemGenericAllocationHandle*, size_t, const CUmemAllocationProp*, unsigned long long) = nullptr;
  CUresult (*release)(CUmemGenericAllocationHandle) = nullptr;
  CUresult (*map)(CUdeviceptr, size_t, size_t, CUmemGenericAllocationHandle, unsigned long long) = nullptr;
  CUresult (*unmap)(CUdeviceptr, size_t) = nullptr;
  CUresult (*setAccess)(CUdeviceptr, size_t, const CUmemAccessDesc*, size_t) = nullptr;
  bool complete = false;
};

template <class Fn>
bool lookup(const char* symbol, Fn* fn) {
  void* p = nullptr;
  cudaDriverEntryPointQueryResult found{};
  if (cudaGetDriverEntryPointByVersion(symbol, &p, 12000, cudaEnableDefault, &found) != cudaSuccess || found != cudaDriverEntryPointSuccess || !p) {
    cudaGetLastError();
    return false;
  }
  *fn = reinterpret_cast<Fn>(p);
  return true;
}

const Driver& driver() {
  static Driver d;
  static std::once_flag once;
  std::call_once(once, [] {
    d.complete = lookup("cuDeviceGet", &d.deviceGet) && lookup("cuDeviceGetAttribute", &d.deviceGetAttribute) &&
                 lookup("cuMemGetAllocationGranularity", &d.granularity) && lookup("cuMemAddressReserve", &d.addressReserve) &&
                 lookup("cuMemAddressFree", &d.addressFree) && lookup("cuMemCreate", &d.create) && lookup("cuMemRelease", &d.release) &&
                 lookup("cuMemMap", &d.map) && lookup("cuMemUnmap", &d.unmap) && lookup("cuMemSetAccess", &d.setAccess);
  });
  return d;
}

CUmemAllocationProp device_memory(int device) {
  CUmemAllocationProp prop{};
  prop.type = CU_MEM_ALLOCATION_TYPE_PINNED;
  prop.location.type = CU_MEM_LOCATION_TYPE_DEVICE;
  prop.location.id = device;
  return prop;
}

}  // namespace

size_t CudaPages::chunk_size(int device, size_t wanted) {
  const Driver& d = driver();
  CUdevice dev = 0;
  int supported = 0;
  if (!d.complete || d.deviceGet(&dev, device) != CUDA_SUCCESS ||
      d.deviceGetAttribute(&supported, CU_DEVICE_ATTRIBUTE_VIRTUAL_MEMORY_MANAGEMENT_SUPPORTED, dev) != CUDA_SUCCESS || !supported)
    return 0;
  const CUmemAllocationProp prop = device_memory(device);
  size_t grain = 0;
  if (d.granularity(&grain, &prop, CU_MEM_ALLOC_GRANULARITY_RECOMMENDED) != CUDA_SUCCESS || grain == 0) return 0;
  return (wanted + grain - 1) / grain * grain;
}

char* CudaPages::reserve(size_t bytes) {
  CUdeviceptr p = 0;
  if (driver().addressReserve(&p, bytes, align, 0, 0) != CUDA_SUCCESS) return nullptr;
  return reinterpret_cast<char*>(p);
}

void CudaPages::unreserve(char* p, size_t bytes) { driver().addressFree(reinterpret_cast<CUdeviceptr>(p), bytes); }

uint64_t CudaPages::map(char* at, size_t bytes) {
  const Driver& d = driver();
  const CUmemAllocationProp prop = device_memory(device);
  CUmemGenericAllocationHandle handle = 0;
  if (d.create(&handle, bytes, &prop, 0) != CUDA_SUCCESS) return 0;
  const auto ptr = reinterpret_cast<CUdeviceptr>(at);
  if (d.map(ptr, bytes, 0, handle, 0) != CUDA_SUCCESS) {
    d.release(handle);
    return 0;
  }
  CUmemAccessDesc access{};
  access.location = prop.location;
  access.flags = CU_MEM_ACCESS_FLAGS_PROT_READWRITE;
  if (d.setAccess(ptr, bytes, &access, 1) != CUDA_SUCCESS) {
    d.unmap(ptr, bytes);
    d.release(handle);
    return 0;
  }
  return handle;
}

void CudaPages::unmap(char* at, size_t bytes, uint64_t handle) {
  driver().unmap(reinterpret_cast<CUdeviceptr>(at), bytes);
  driver().release(handle);
}

}  // namespace alto::cuda
