#include "engine_lora.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "alto/kernels.h"
#include "plan.h"

namespace alto::node {
namespace {

// The small host arrays one call needs on the device (the plan, the weight-pointer tables),
// packed into one host buffer and sent in one upload: a call then costs one copy, not eight.
// Device blocks come from the engine's pool and go back when the call has queued its
// launches (the stream orders any reuse after them).
class Staging {
 public:
  Staging(const Napi::CallbackInfo& info, alto_engine* e) : info_(info), e_(e) {}
  ~Staging() {
    for (void* p : blocks_) alto_engine_free(e_, p);
  }
  // Queues `bytes` from `host` for the upload; returns the offset its device copy will have.
  size_t add(const void* host, size_t bytes) {
    const size_t at = (packed_.size() + 15) / 16 * 16;
    packed_.resize(at + bytes);
    if (bytes) std::memcpy(packed_.data() + at, host, bytes);
    return at;
  }
  // Uploads everything added so far; returns the device address of offset 0.
  char* upload() {
    char* dev = static_cast<char*>(alloc(packed_.size()));
    check(alto_engine_upload(e_, dev, packed_.data(), packed_.size()), "upload");
    return dev;
  }
  void* alloc(size_t bytes) {
    void* p = nullptr;
    check(alto_engine_alloc(e_, bytes ? bytes : 4, &p), "alloc");
    blocks_.push_back(p);
    return p;
  }
  void check(alto_status st, const char* what) const {
    if (st != ALTO_OK) {
      throw Napi::Error::New(info_.Env(), std::string("grouped LoRA on CUDA: ") + what + ": " + alto_status_string(st) + " (" +
                                              alto_engine_last_error(e_) + ")");
    }
  }

 private:
  const Napi::CallbackInfo& info_;
  alto_engine* e_;
  std::vector<void*> blocks_;
  std::vector<char> packed_;
};

// The storage and product type from an optional trailing boolean: TF32 products when true.
alto_dtype dtype_of(const Napi::CallbackInfo& info, size_t at) {
  return info.Length() > at && info[at].IsBoolean() && info[at].As<Napi::Boolean>().Value() ? ALTO_F32_TF32 : ALTO_F32;
}

void* ptr_of(const Napi::Value& v) { return reinterpret_cast<void*>(static_cast<uintptr_t>(v.As<Napi::Number>().DoubleValue())); }

std::vector<void*> ptrs_of(const Napi::Value& v) {
  const auto arr = v.As<Napi::Array>();
  std::vector<void*> out(arr.Length());
  for (uint32_t i = 0; i < arr.Length(); ++i) out[i] = ptr_of(arr.Get(i));
  return out;
}

// Offsets of the plan's arrays in a Staging upload.
struct PlanOffsets {
  size_t offsets, adapter, ranks, scales;
};

PlanOffsets add_plan(const alto_segments& host, Staging& st) {
  return {st.add(host.seg_offsets, (host.num_segments + 1) * sizeof(int32_t)), st.add(host.seg_adapter, host.num_segments * sizeof(int32_t)),
          st.add(host.ranks, host.num_adapters * sizeof(int32_t)), st.add(host.scales, host.num_adapters * sizeof(float))};
}

// The plan as the CUDA kernels read it: its arrays in the uploaded block at `dev`.
alto_segments device_plan(const alto_segments& host, const PlanOffsets& at, char* dev) {
  alto_segments seg = host;
  seg.seg_offsets = reinterpret_cast<const int32_t*>(dev + at.offsets);
  seg.seg_adapter = reinterpret_cast<const int32_t*>(dev + at.adapter);
  seg.ranks = reinterpret_cast<const int32_t*>(dev + at.ranks);
  seg.scales = reinterpret_cast<const float*>(dev + at.scales);
  return seg;
}

}  // namespace

void LoraForward(const Napi::CallbackInfo& info, alto_engine* e) {
  const alto_segments host = read_plan(info[0].As<Napi::Object>());
  const auto A = ptrs_of(info[3]), B = ptrs_of(info[4]);
  const int32_t d_in = info[2].As<Napi::Number>().Int32Value(), d_out = info[7].As<Napi::Number>().Int32Value();
  if (static_cast<int32_t>(A.size()) != host.num_adapters || static_cast<int32_t>(B.size()) != host.num_adapters) {
    throw Napi::Error::New(info.Env(), "loraForward: one A and one B per adapter");
  }
  if (host.total_rows == 0) return;
  Staging st(info, e);
  const PlanOffsets plan_at = add_plan(host, st);
  const size_t a_at = st.add(A.data(), A.size() * sizeof(void*)), b_at = st.add(B.data(), B.size() * sizeof(void*));
  char* dev = st.upload();
  const alto_segments seg = device_plan(host, plan_at, dev);
  // S to the caller's buffer when one is given (kept for the backward), else to a temporary.
  const bool keep_s = info.Length() > 9 && info[9].IsNumber() && info[9].As<Napi::Number>().DoubleValue() != 0;
  auto* S = static_cast<float*>(keep_s ? ptr_of(info[9]) : st.alloc(static_cast<size_t>(seg.total_rows) * seg.max_rank * sizeof(float)));
  void* stream = alto_engine_stream(e);
  const alto_dtype dtype = dtype_of(info, 8);
  st.check(alto_cuda_shrink(&seg, dtype, ptr_of(info[1]), d_in, reinterpret_cast<const void* const*>(dev + a_at), S, stream), "shrink");
  st.check(alto_cuda_expand(&seg, dtype, S, reinterpret_cast<const void* const*>(dev + b_at), d_out, ptr_of(info[5]), ptr_of(info[6]), stream),
           "expand");
}

void LoraBackward(const Napi::CallbackInfo& info, alto_engine* e) {
  const alto_segments host = read_plan(info[0].As<Napi::Object>());
  const int32_t d_in = info[2].As<Napi::Number>().Int32Value(), d_out = info[4].As<Napi::Number>().Int32Value();
  const auto A = ptrs_of(info[5]), B = ptrs_of(info[6]), dA = ptrs_of(info[8]), dB = ptrs_of(info[9]);
  const auto K = static_cast<size_t>(host.num_adapters);
  if (A.size() != K || B.size() != K || dA.size() != K || dB.size() != K) {
    throw Napi::Error::New(info.Env(), "loraBackward: one A, B, dA and dB per adapter");
  }
  // The kernels add into dA and dB: every one of them starts at zero, in one launch.
  std::vector<void*> grads(dA);
  grads.insert(grads.end(), dB.begin(), dB.end());
  std::vector<int64_t> counts(2 * K);
  int64_t max_count = 0;
  for (size_t i = 0; i < K; ++i) {
    counts[i] = static_cast<int64_t>(d_in) * host.ranks[i];
    counts[K + i] = static_cast<int64_t>(host.ranks[i]) * d_out;
    max_count = std::max({max_count, counts[i], counts[K + i]});
  }
  Staging st(info, e);
  const PlanOffsets plan_at = add_plan(host, st);
  const size_t grads_at = st.add(grads.data(), grads.size() * sizeof(void*)), counts_at = st.add(counts.data(), counts.size() * sizeof(int64_t));
  const size_t a_at = st.add(A.data(), K * sizeof(void*)), b_at = st.add(B.data(), K * sizeof(void*));
  char* dev = st.upload();
  auto* const* grad_dev = reinterpret_cast<float* const*>(dev + grads_at);
  st.check(alto_engine_zero_many(e, grad_dev, reinterpret_cast<const int64_t*>(dev + counts_at), static_cast<int32_t>(2 * K), max_count),
           "zero dA and dB");
  if (host.total_rows == 0) return;  // dx has no rows
  const alto_segments seg = device_plan(host, plan_at, dev);
  void* stream = alto_engine_stream(e);
  auto* a_dev = reinterpret_cast<const void* const*>(dev + a_at);
  const alto_dtype dtype = dtype_of(info, 10);
  // S from the forward when the caller kept it, else computed again from x.
  const bool have_s = info.Length() > 11 && info[11].IsNumber() && info[11].As<Napi::Number>().DoubleValue() != 0;
  auto* S = static_cast<float*>(have_s ? ptr_of(info[11]) : st.alloc(static_cast<size_t>(seg.total_rows) * seg.max_rank * sizeof(float)));
  if (!have_s) st.check(alto_cuda_shrink(&seg, dtype, ptr_of(info[1]), d_in, a_dev, S, stream), "shrink");
  const size_t ws_bytes = alto_cuda_backward_workspace(&seg);
  void* ws = st.alloc(ws_bytes);
  // The base layer's dX, added into dX as it is written, when the caller gives it.
  const bool have_base = info.Length() > 12 && info[12].IsNumber() && info[12].As<Napi::Number>().DoubleValue() != 0;
  st.check(alto_cuda_backward(&seg, dtype, ptr_of(info[1]), d_in, ptr_of(info[3]), d_out, a_dev, reinterpret_cast<const void* const*>(dev + b_at), S,
                              have_base ? ptr_of(info[12]) : nullptr, ptr_of(info[7]), grad_dev, grad_dev + K, ws, ws_bytes, stream),
           "backward");
}

}  // namespace alto::node
