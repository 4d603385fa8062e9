#include "plan.h"

#include <string>

namespace alto::node {

namespace {

template <typename Array>
Array typed(const Napi::Object& plan, const char* key, napi_typedarray_type type, const char* type_name) {
  const Napi::Value v = plan.Get(key);
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != type) {
    throw Napi::TypeError::New(plan.Env(), std::string("plan.") + key + " must be an " + type_name);
  }
  return v.As<Array>();
}

}  // namespace

alto_segments read_plan(const Napi::Object& plan) {
  const Napi::Env env = plan.Env();
  const auto offsets = typed<Napi::Int32Array>(plan, "segmentOffsets", napi_int32_array, "Int32Array");
  const auto adapters = typed<Napi::Int32Array>(plan, "segmentAdapter", napi_int32_array, "Int32Array");
  const auto ranks = typed<Napi::Int32Array>(plan, "ranks", napi_int32_array, "Int32Array");
  const auto scales = typed<Napi::Float32Array>(plan, "scales", napi_float32_array, "Float32Array");
  const Napi::Value max_rank = plan.Get("maxRank");
  if (!max_rank.IsNumber()) throw Napi::TypeError::New(env, "plan.maxRank must be a number");
  if (offsets.ElementLength() != adapters.ElementLength() + 1) {
    throw Napi::RangeError::New(env, "plan.segmentOffsets must have one entry more than plan.segmentAdapter");
  }
  if (ranks.ElementLength() != scales.ElementLength()) throw Napi::RangeError::New(env, "plan.ranks and plan.scales differ in length");
  alto_segments seg{};
  seg.num_segments = static_cast<int32_t>(adapters.ElementLength());
  seg.seg_offsets = offsets.Data();
  seg.seg_adapter = adapters.Data();
  seg.total_rows = offsets.Data()[seg.num_segments];
  seg.num_adapters = static_cast<int32_t>(ranks.ElementLength());
  seg.max_rank = max_rank.As<Napi::Number>().Int32Value();
  seg.ranks = ranks.Data();
  seg.scales = scales.Data();
  check(env, alto_cpu_validate(&seg), "plan");
  return seg;
}

float* float_array(const Napi::Value& value, size_t length, const char* what) {
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    throw Napi::TypeError::New(value.Env(), std::string(what) + " must be a Float32Array");
  }
  Napi::Float32Array array = value.As<Napi::Float32Array>();
  if (array.ElementLength() != length) {
    throw Napi::RangeError::New(value.Env(), std::string(what) + ": expected " + std::to_string(length) + " elements, got " +
                                                 std::to_string(array.ElementLength()));
  }
  return array.Data();
}

void check(Napi::Env env, alto_status status, const char* what) {
  if (status != ALTO_OK) throw Napi::Error::New(env, std::string("alto kernels: ") + what + ": " + alto_status_string(status));
}

}  // namespace alto::node
