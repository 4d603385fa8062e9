// The CUDA engine (kernels/include/alto/engine.h) as a JS class: device pointers travel as
// numbers (device addresses fit in 53 bits), shapes as arrays; a failed call throws with the
// engine's reason.
#pragma once
#include <napi.h>

namespace alto::node {

void InitEngine(Napi::Env env, Napi::Object exports);

}  // namespace alto::node
