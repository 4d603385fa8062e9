// The grouped-LoRA kernels (alto/kernels.h) on a CUDA engine's device tensors: the plan and
// the weight-pointer tables go to the device through the engine's pool for one launch.
#pragma once
#include <napi.h>

#include "alto/engine.h"

namespace alto::node {

// loraForward(engine, plan, x, dIn, A[], B[], base, y, dOut): y = base + s·(x·A)·B per segment.
void LoraForward(const Napi::CallbackInfo& info, alto_engine* engine);
// loraBackward(engine, plan, x, dIn, dy, dOut, A[], B[], dx, dA[], dB[]): dx = dS·Aᵀ,
// dA = xᵀ·dS, dB = s·Sᵀ·dy (written, not added), S recomputed from x.
void LoraBackward(const Napi::CallbackInfo& info, alto_engine* engine);

}  // namespace alto::node
