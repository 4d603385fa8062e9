// The grouped-LoRA kernels (alto/kernels.h) on a CUDA engine's device tensors: the plan and
// the weight-pointer tables go to the device through the engine's pool for one launch.
#pragma once
#include <napi.h>

#include "alto/engine.h"

namespace alto::node {

// loraForward(plan, x, dIn, A[], B[], base, y, dOut, tf32?, S?): y = base + s·(x·A)·B per
// segment; S = x·A (T × maxRank f32) also written to S when given.
void LoraForward(const Napi::CallbackInfo& info, alto_engine* engine);
// loraBackward(plan, x, dIn, dy, dOut, A[], B[], dx, dA[], dB[], tf32?, S?): dx = dS·Aᵀ,
// dA = xᵀ·dS, dB = s·Sᵀ·dy (written, not added); S from the forward, or recomputed from x.
void LoraBackward(const Napi::CallbackInfo& info, alto_engine* engine);

}  // namespace alto::node
