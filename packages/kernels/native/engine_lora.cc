#include "engine_lora.h"

#include <cstdint>
#include <string>
#include <vector>

#include "alto/kernels.h"
#include "plan.h"

namespace alto::node {
namespace {

// Device copies of host arrays, taken from the engine's pool and given back after the
// launches are queued (the stream orders any reuse after them).
class Staging {
 public:
  Staging(const Napi::CallbackInfo& info, alto_engine* e) : info_(info), e_(e) {}
  ~Staging() {
    for (void* p : blocks_) alto_engine_free(e_, p);
  }
  void* copy(const void* host, size_t bytes) {
    void* p = alloc(bytes);
    check(alto_engine_upload(e_, p, host, bytes), "upload");
    return p;
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
};

void* ptr_of(const Napi::Value& v) { return reinterpret_cast<void*>(static_cast<uintptr_t>(v.As<Napi::Number>().DoubleValue())); }

std::vector<void*> ptrs_of(const Napi::Value& v) {
  const auto arr = v.As<Napi::Array>();
  std::vector<void*> out(arr.Length());
  for (uint32_t i = 0; i < arr.Length(); ++i) out[i] = ptr_of(arr.Get(i));
  return out;
}

// The plan (checked on the host) with its arrays copied to the device, as the CUDA kernels read them.
alto_segments device_plan(const alto_segments& host, Staging& st) {
  alto_segments seg = host;
  seg.seg_offsets = static_cast<const int32_t*>(st.copy(host.seg_offsets, (seg.num_segments + 1) * sizeof(int32_t)));
  seg.seg_adapter = static_cast<const int32_t*>(st.copy(host.seg_adapter, seg.num_segments * sizeof(int32_t)));
  seg.ranks = static_cast<const int32_t*>(st.copy(host.ranks, seg.num_adapters * sizeof(int32_t)));
  seg.scales = static_cast<const float*>(st.copy(host.scales, seg.num_adapters * sizeof(float)));
  return seg;
}

}  // namespace

void LoraForward(const Napi::CallbackInfo& info, alto_engine* e) {
  const alto_segments host = read_plan(info[0].As<Napi::Object>());
  Staging st(info, e);
  const alto_segments seg = device_plan(host, st);
  const auto A = ptrs_of(info[3]), B = ptrs_of(info[4]);
  const int32_t d_in = info[2].As<Napi::Number>().Int32Value(), d_out = info[7].As<Napi::Number>().Int32Value();
  if (static_cast<int32_t>(A.size()) != seg.num_adapters || static_cast<int32_t>(B.size()) != seg.num_adapters) {
    throw Napi::Error::New(info.Env(), "loraForward: one A and one B per adapter");
  }
  if (seg.total_rows == 0) return;
  auto* a_dev = static_cast<const void* const*>(st.copy(A.data(), A.size() * sizeof(void*)));
  auto* b_dev = static_cast<const void* const*>(st.copy(B.data(), B.size() * sizeof(void*)));
  auto* S = static_cast<float*>(st.alloc(static_cast<size_t>(seg.total_rows) * seg.max_rank * sizeof(float)));
  void* stream = alto_engine_stream(e);
  st.check(alto_cuda_shrink(&seg, ALTO_F32, ptr_of(info[1]), d_in, a_dev, S, stream), "shrink");
  st.check(alto_cuda_expand(&seg, ALTO_F32, S, b_dev, d_out, ptr_of(info[5]), ptr_of(info[6]), stream), "expand");
}

void LoraBackward(const Napi::CallbackInfo& info, alto_engine* e) {
  const alto_segments host = read_plan(info[0].As<Napi::Object>());
  Staging st(info, e);
  const alto_segments seg = device_plan(host, st);
  const int32_t d_in = info[2].As<Napi::Number>().Int32Value(), d_out = info[4].As<Napi::Number>().Int32Value();
  const auto A = ptrs_of(info[5]), B = ptrs_of(info[6]), dA = ptrs_of(info[8]), dB = ptrs_of(info[9]);
  const auto K = static_cast<size_t>(seg.num_adapters);
  if (A.size() != K || B.size() != K || dA.size() != K || dB.size() != K) {
    throw Napi::Error::New(info.Env(), "loraBackward: one A, B, dA and dB per adapter");
  }
  // The kernels add into dA and dB: start them at zero.
  for (size_t i = 0; i < K; ++i) {
    const int32_t r = host.ranks[i];
    st.check(alto_engine_fill(e, ALTO_ELEM_F32, dA[i], 0.0, static_cast<int64_t>(d_in) * r), "zero dA");
    st.check(alto_engine_fill(e, ALTO_ELEM_F32, dB[i], 0.0, static_cast<int64_t>(r) * d_out), "zero dB");
  }
  void* stream = alto_engine_stream(e);
  if (seg.total_rows == 0) {
    return;  // dx has no rows
  }
  auto* a_dev = static_cast<const void* const*>(st.copy(A.data(), K * sizeof(void*)));
  auto* b_dev = static_cast<const void* const*>(st.copy(B.data(), K * sizeof(void*)));
  auto* da_dev = static_cast<float* const*>(st.copy(dA.data(), K * sizeof(void*)));
  auto* db_dev = static_cast<float* const*>(st.copy(dB.data(), K * sizeof(void*)));
  auto* S = static_cast<float*>(st.alloc(static_cast<size_t>(seg.total_rows) * seg.max_rank * sizeof(float)));
  st.check(alto_cuda_shrink(&seg, ALTO_F32, ptr_of(info[1]), d_in, a_dev, S, stream), "shrink");
  const size_t ws_bytes = alto_cuda_backward_workspace(&seg);
  void* ws = st.alloc(ws_bytes);
  st.check(alto_cuda_backward(&seg, ALTO_F32, ptr_of(info[1]), d_in, ptr_of(info[3]), d_out, a_dev, b_dev, S, nullptr, ptr_of(info[7]), da_dev,
                              db_dev, ws, ws_bytes, stream),
           "backward");
}

}  // namespace alto::node
