#pragma once
#include <napi.h>

namespace alto::node {
Napi::Value CpuForward(const Napi::CallbackInfo& info);
Napi::Value CpuBackward(const Napi::CallbackInfo& info);
Napi::Value CpuSetThreads(const Napi::CallbackInfo& info);
Napi::Value CpuThreads(const Napi::CallbackInfo& info);
}  // namespace alto::node
