// The addon's entry point: the CPU operations, what the build knows about CUDA and, in CUDA
// builds, the engine of the tfjs CUDA backend.
#include <napi.h>

#include "alto/kernels.h"
#include "cpu_ops.h"
#ifdef ALTO_WITH_ENGINE
#include "engine.h"
#endif

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  using namespace alto::node;
  exports.Set("cpuForward", Napi::Function::New(env, CpuForward, "cpuForward"));
  exports.Set("cpuBackward", Napi::Function::New(env, CpuBackward, "cpuBackward"));
  exports.Set("cpuSetThreads", Napi::Function::New(env, CpuSetThreads, "cpuSetThreads"));
  exports.Set("cpuThreads", Napi::Function::New(env, CpuThreads, "cpuThreads"));
  exports.Set("cpuFillNearNormal", Napi::Function::New(env, CpuFillNearNormal, "cpuFillNearNormal"));
  exports.Set("cpuFillUniform", Napi::Function::New(env, CpuFillUniform, "cpuFillUniform"));
  exports.Set("cudaCompiled", Napi::Boolean::New(env, alto_cuda_compiled() != 0));
  exports.Set("cudaDeviceCount", Napi::Function::New(env, [](const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), alto_cuda_device_count());
  }));
#ifdef ALTO_WITH_ENGINE
  InitEngine(env, exports);  // CudaEngine: present whenever the CUDA kernels are
#endif
  return exports;
}

}  // namespace

NODE_API_MODULE(alto_kernels, Init)
