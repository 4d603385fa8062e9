// A segment plan handed over from JavaScript, read in place (no copies).
#pragma once
#include <napi.h>

#include <vector>

#include "alto/kernels.h"

namespace alto::node {

// `plan` is { segmentOffsets: Int32Array, segmentAdapter: Int32Array, ranks: Int32Array,
// scales: Float32Array, maxRank: number }; the arrays must outlive the returned struct.
alto_segments read_plan(const Napi::Object& plan);

// A Float32Array argument with exactly `length` elements (throws a RangeError naming `what`).
float* float_array(const Napi::Value& value, size_t length, const char* what);

// An array of Float32Array, one per adapter, with lengths given by `length(a)`.
template <typename Length>
std::vector<float*> float_arrays(const Napi::Value& value, size_t count, Length length, const char* what) {
  if (!value.IsArray()) throw Napi::TypeError::New(value.Env(), std::string(what) + " must be an array of Float32Array");
  const Napi::Array array = value.As<Napi::Array>();
  if (array.Length() != count) {
    throw Napi::RangeError::New(value.Env(), std::string(what) + ": expected " + std::to_string(count) + " arrays, got " +
                                                 std::to_string(array.Length()));
  }
  std::vector<float*> out(count);
  for (uint32_t i = 0; i < count; ++i) out[i] = float_array(array.Get(i), length(i), what);
  return out;
}

// Throws a JavaScript Error naming the operation when a kernel returns a failure status.
void check(Napi::Env env, alto_status status, const char* what);

}  // namespace alto::node
