// The CPU grouped-LoRA operations as seen from JavaScript: whole forward and backward
// passes over Float32Arrays (views of a tfjs backend's own buffers where it allows).
#include <vector>

#include "cpu_ops.h"
#include "plan.h"

namespace alto::node {

namespace {

int32_t positive(const Napi::Value& v, const char* what) {
  if (!v.IsNumber() || v.As<Napi::Number>().Int32Value() < 1) throw Napi::RangeError::New(v.Env(), std::string(what) + " must be ≥ 1");
  return v.As<Napi::Number>().Int32Value();
}

}  // namespace

// forward(plan, x, dIn, A[], B[], base, y, dOut): y = base + s·(x·A)·B per segment (y may be base; base null: zero).
Napi::Value CpuForward(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  if (info.Length() != 8) throw Napi::TypeError::New(env, "cpuForward(plan, x, dIn, A, B, base, y, dOut)");
  const alto_segments seg = read_plan(info[0].As<Napi::Object>());
  const int32_t d_in = positive(info[2], "dIn"), d_out = positive(info[7], "dOut");
  const size_t T = static_cast<size_t>(seg.total_rows);
  const float* x = float_array(info[1], T * d_in, "x");
  const auto A = float_arrays(info[3], seg.num_adapters, [&](size_t a) { return size_t(d_in) * seg.ranks[a]; }, "A");
  const auto B = float_arrays(info[4], seg.num_adapters, [&](size_t a) { return size_t(seg.ranks[a]) * d_out; }, "B");
  const float* base = info[5].IsNull() ? nullptr : float_array(info[5], T * d_out, "base");
  float* y = float_array(info[6], T * d_out, "y");
  std::vector<float> S(T * seg.max_rank);
  check(env, alto_cpu_shrink(&seg, x, d_in, A.data(), S.data()), "shrink");
  check(env, alto_cpu_expand(&seg, S.data(), B.data(), d_out, base, y), "expand");
  return env.Undefined();
}

// backward(plan, x, dIn, dy, dOut, A[], B[], dx, dA[], dB[]): dx = dS·Aᵀ (overwritten),
// dA += xᵀ·dS and dB += s·Sᵀ·dy (accumulated), with S = x·A and dS = s·dy·Bᵀ.
Napi::Value CpuBackward(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  if (info.Length() != 10) throw Napi::TypeError::New(env, "cpuBackward(plan, x, dIn, dy, dOut, A, B, dx, dA, dB)");
  const alto_segments seg = read_plan(info[0].As<Napi::Object>());
  const int32_t d_in = positive(info[2], "dIn"), d_out = positive(info[4], "dOut");
  const size_t T = static_cast<size_t>(seg.total_rows);
  const float* x = float_array(info[1], T * d_in, "x");
  const float* dy = float_array(info[3], T * d_out, "dy");
  const auto in_rank = [&](size_t a) { return size_t(d_in) * seg.ranks[a]; };
  const auto rank_out = [&](size_t a) { return size_t(seg.ranks[a]) * d_out; };
  const auto A = float_arrays(info[5], seg.num_adapters, in_rank, "A");
  const auto B = float_arrays(info[6], seg.num_adapters, rank_out, "B");
  float* dx = float_array(info[7], T * d_in, "dx");
  const auto dA = float_arrays(info[8], seg.num_adapters, in_rank, "dA");
  const auto dB = float_arrays(info[9], seg.num_adapters, rank_out, "dB");
  std::vector<float> S(T * seg.max_rank), dS(T * seg.max_rank);
  const std::vector<const float*> Ac(A.begin(), A.end()), Bc(B.begin(), B.end());
  check(env, alto_cpu_shrink(&seg, x, d_in, Ac.data(), S.data()), "shrink");
  check(env, alto_cpu_backward_data(&seg, dy, d_out, Bc.data(), Ac.data(), d_in, dS.data(), nullptr, dx), "backward (dS, dX)");
  check(env, alto_cpu_backward_weights(&seg, x, d_in, dy, d_out, S.data(), dS.data(), dA.data(), dB.data()), "backward (dA, dB)");
  return env.Undefined();
}

Napi::Value CpuSetThreads(const Napi::CallbackInfo& info) {
  alto_cpu_set_threads(info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : 0);
  return Napi::Number::New(info.Env(), alto_cpu_threads());
}

Napi::Value CpuThreads(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), alto_cpu_threads()); }

Napi::Value CpuFillUniform(const Napi::CallbackInfo& info) {
  if (info.Length() < 4 || !info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array || !info[1].IsNumber() ||
      !info[2].IsNumber() || !info[3].IsNumber()) {
    throw Napi::TypeError::New(info.Env(), "cpuFillUniform(out: Float32Array, state: number, lo: number, hi: number)");
  }
  auto out = info[0].As<Napi::Float32Array>();
  const auto state = static_cast<uint32_t>(info[1].As<Napi::Number>().Int64Value() & 0xffffffffLL);
  check(info.Env(), alto_cpu_fill_uniform(out.Data(), static_cast<int64_t>(out.ElementLength()), state, info[2].As<Napi::Number>().DoubleValue(),
                                          info[3].As<Napi::Number>().DoubleValue()),
        "cpuFillUniform");
  return info.Env().Undefined();
}

Napi::Value CpuFillNearNormal(const Napi::CallbackInfo& info) {
  if (info.Length() < 3 || !info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array || !info[1].IsNumber() ||
      !info[2].IsNumber()) {
    throw Napi::TypeError::New(info.Env(), "cpuFillNearNormal(out: Float32Array, state: number, scale: number)");
  }
  auto out = info[0].As<Napi::Float32Array>();
  const auto state = static_cast<uint32_t>(info[1].As<Napi::Number>().Int64Value() & 0xffffffffLL);
  check(info.Env(), alto_cpu_fill_near_normal(out.Data(), static_cast<int64_t>(out.ElementLength()), state, info[2].As<Napi::Number>().DoubleValue()),
        "cpuFillNearNormal");
  return info.Env().Undefined();
}

}  // namespace alto::node
