#pragma once
#include <napi.h>

namespace alto::node {
Napi::Value CpuForward(const Napi::CallbackInfo& info);
Napi::Value CpuBackward(const Napi::CallbackInfo& info);
Napi::Value CpuSetThreads(const Napi::CallbackInfo& info);
Napi::Value CpuThreads(const Napi::CallbackInfo& info);
// cpuFillNearNormal(out, state, scale): alto_cpu_fill_near_normal over the whole array.
Napi::Value CpuFillNearNormal(const Napi::CallbackInfo& info);
// cpuFillUniform(out, state, lo, hi): alto_cpu_fill_uniform over the whole array.
Napi::Value CpuFillUniform(const Napi::CallbackInfo& info);
}  // namespace alto::node
