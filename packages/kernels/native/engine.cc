#include "engine.h"

#include <cstdint>
#include <string>
#include <vector>

#include "alto/engine.h"
#include "engine_lora.h"

namespace alto::node {
namespace {

void* ptr_arg(const Napi::CallbackInfo& info, size_t i) {
  const double v = info[i].As<Napi::Number>().DoubleValue();
  return reinterpret_cast<void*>(static_cast<uintptr_t>(v));
}
// An optional address: absent, undefined or 0 give NULL.
void* opt_ptr_arg(const Napi::CallbackInfo& info, size_t i) { return info.Length() > i && info[i].IsNumber() ? ptr_arg(info, i) : nullptr; }
int64_t int_arg(const Napi::CallbackInfo& info, size_t i) { return info[i].As<Napi::Number>().Int64Value(); }
std::vector<int64_t> ints_arg(const Napi::CallbackInfo& info, size_t i) {
  const auto arr = info[i].As<Napi::Array>();
  std::vector<int64_t> out(arr.Length());
  for (uint32_t k = 0; k < arr.Length(); ++k) out[k] = arr.Get(k).As<Napi::Number>().Int64Value();
  return out;
}

class Engine : public Napi::ObjectWrap<Engine> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "CudaEngine",
                       {InstanceMethod("alloc", &Engine::Alloc), InstanceMethod("free", &Engine::Free),
                        InstanceMethod("memory", &Engine::Memory), InstanceMethod("resetPeak", &Engine::ResetPeak),
                        InstanceMethod("trim", &Engine::Trim),
                        InstanceMethod("upload", &Engine::Upload), InstanceMethod("download", &Engine::Download),
                        InstanceMethod("downloadAsync", &Engine::DownloadAsync),
                        InstanceMethod("copy", &Engine::Copy), InstanceMethod("sync", &Engine::Sync),
                        InstanceMethod("mark", &Engine::Mark), InstanceMethod("markElapsed", &Engine::MarkElapsed),
                        InstanceMethod("markRelease", &Engine::MarkRelease),
                        InstanceMethod("fill", &Engine::Fill), InstanceMethod("fillUniform", &Engine::FillUniform),
                        InstanceMethod("unary", &Engine::Unary),
                        InstanceMethod("binary", &Engine::Binary), InstanceMethod("cast", &Engine::Cast),
                        InstanceMethod("select", &Engine::Select), InstanceMethod("reduce", &Engine::Reduce),
                        InstanceMethod("transpose", &Engine::Transpose), InstanceMethod("matmul", &Engine::Matmul),
                        InstanceMethod("copyBox", &Engine::CopyBox), InstanceMethod("gather", &Engine::Gather), InstanceMethod("scan", &Engine::Scan),
                        InstanceMethod("segmentSum", &Engine::SegmentSum), InstanceMethod("oneHot", &Engine::OneHot),
                        InstanceMethod("softmax", &Engine::Softmax), InstanceMethod("tokenCrossEntropy", &Engine::TokenCrossEntropy),
                        InstanceMethod("tokenCrossEntropyGrad", &Engine::TokenCrossEntropyGrad), InstanceMethod("rmsNorm", &Engine::RmsNorm),
                        InstanceMethod("rmsNormGrad", &Engine::RmsNormGrad),
                        InstanceMethod("swiglu", &Engine::Swiglu), InstanceMethod("swigluGrad", &Engine::SwigluGrad), InstanceMethod("rope", &Engine::Rope),
                        InstanceMethod("layerNorm", &Engine::LayerNorm), InstanceMethod("layerNormGrad", &Engine::LayerNormGrad),
                        InstanceMethod("attention", &Engine::Attention), InstanceMethod("attentionGrad", &Engine::AttentionGrad), InstanceMethod("loraForward", &Engine::LoraForwardMethod),
                        InstanceMethod("loraBackward", &Engine::LoraBackwardMethod),
                        InstanceMethod("adamw", &Engine::AdamW), InstanceMethod("copyMany", &Engine::CopyMany),
                        InstanceMethod("destroy", &Engine::Destroy)});
  }

  explicit Engine(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Engine>(info) {
    const int32_t device = info.Length() > 0 ? info[0].As<Napi::Number>().Int32Value() : 0;
    const int32_t count = alto_cuda_device_count();
    if (device < 0 || device >= count) {
      throw Napi::Error::New(info.Env(), "no CUDA device " + std::to_string(device) + " (" + std::to_string(count) + " found)");
    }
    alto_engine_options options{1};
    if (info.Length() > 1 && info[1].IsObject()) {
      const Napi::Value paged = info[1].As<Napi::Object>().Get("pagedMemory");
      if (paged.IsBoolean()) options.paged_memory = paged.As<Napi::Boolean>().Value() ? 1 : 0;
    }
    const alto_status st = alto_engine_create(device, &options, &engine_);
    if (st != ALTO_OK) throw Napi::Error::New(info.Env(), std::string("CUDA engine on device ") + std::to_string(device) + ": " + alto_status_string(st));
  }
  ~Engine() override { alto_engine_destroy(engine_); }

  // A read finished on a worker thread; a destroy asked for meanwhile happens after the last.
  void DownloadEnded(alto_download* d) {
    alto_download_end(d);
    if (--pending_downloads_ == 0 && destroy_requested_) DestroyNow();
  }

 private:
  alto_engine* engine_ = nullptr;
  int pending_downloads_ = 0;
  bool destroy_requested_ = false;

  alto_engine* live(const Napi::CallbackInfo& info) {
    if (!engine_ || destroy_requested_) throw Napi::Error::New(info.Env(), "the CUDA engine was destroyed");
    return engine_;
  }
  void check(const Napi::CallbackInfo& info, alto_status st, const char* what) {
    if (st == ALTO_OK) return;
    throw Napi::Error::New(info.Env(), std::string(what) + ": " + alto_status_string(st) + " (" + alto_engine_last_error(engine_) + ")");
  }

  Napi::Value Alloc(const Napi::CallbackInfo& info) {
    void* p = nullptr;
    check(info, alto_engine_alloc(live(info), static_cast<size_t>(int_arg(info, 0)), &p), "alloc");
    const auto addr = reinterpret_cast<uintptr_t>(p);
    if (addr >= (uintptr_t{1} << 53)) throw Napi::Error::New(info.Env(), "alloc: device address beyond 2^53");
    return Napi::Number::New(info.Env(), static_cast<double>(addr));
  }
  void Free(const Napi::CallbackInfo& info) { check(info, alto_engine_free(live(info), ptr_arg(info, 0)), "free"); }
  Napi::Value Memory(const Napi::CallbackInfo& info) {
    alto_engine_memory m{};
    check(info, alto_engine_memory_stats(live(info), &m), "memory");
    auto out = Napi::Object::New(info.Env());
    out.Set("inUse", static_cast<double>(m.in_use));
    out.Set("reserved", static_cast<double>(m.reserved));
    out.Set("allocations", static_cast<double>(m.allocations));
    out.Set("peakInUse", static_cast<double>(m.peak_in_use));
    out.Set("deviceFree", static_cast<double>(m.device_free));
    out.Set("deviceTotal", static_cast<double>(m.device_total));
    out.Set("paged", m.paged != 0);
    return out;
  }
  void ResetPeak(const Napi::CallbackInfo& info) { check(info, alto_engine_reset_peak(live(info)), "resetPeak"); }
  void Trim(const Napi::CallbackInfo& info) { check(info, alto_engine_trim(live(info)), "trim"); }
  // upload(ptr, typedArray): the bytes are taken before this returns.
  void Upload(const Napi::CallbackInfo& info) {
    auto view = info[1].As<Napi::TypedArray>();
    auto* host = static_cast<uint8_t*>(view.ArrayBuffer().Data()) + view.ByteOffset();
    check(info, alto_engine_upload(live(info), ptr_arg(info, 0), host, view.ByteLength()), "upload");
  }
  void Download(const Napi::CallbackInfo& info) {
    auto view = info[1].As<Napi::TypedArray>();
    auto* host = static_cast<uint8_t*>(view.ArrayBuffer().Data()) + view.ByteOffset();
    check(info, alto_engine_download(live(info), host, ptr_arg(info, 0), view.ByteLength()), "download");
  }
  void Copy(const Napi::CallbackInfo& info) {
    check(info, alto_engine_copy(live(info), ptr_arg(info, 0), ptr_arg(info, 1), static_cast<size_t>(int_arg(info, 2))), "copy");
  }
  void Sync(const Napi::CallbackInfo& info) { check(info, alto_engine_sync(live(info)), "sync"); }
  // mark() → a timing mark (a host address); markElapsed(start, end) → ms between them (both released); markRelease(mark)
  Napi::Value Mark(const Napi::CallbackInfo& info) {
    void* m = nullptr;
    check(info, alto_engine_mark(live(info), &m), "mark");
    return Napi::Number::New(info.Env(), static_cast<double>(reinterpret_cast<uintptr_t>(m)));
  }
  Napi::Value MarkElapsed(const Napi::CallbackInfo& info) {
    float ms = 0.0f;
    check(info, alto_engine_mark_elapsed(live(info), ptr_arg(info, 0), ptr_arg(info, 1), &ms), "markElapsed");
    return Napi::Number::New(info.Env(), ms);
  }
  void MarkRelease(const Napi::CallbackInfo& info) { check(info, alto_engine_mark_release(live(info), ptr_arg(info, 0)), "markRelease"); }
  // fill(type, ptr, value, n)
  void Fill(const Napi::CallbackInfo& info) {
    check(info, alto_engine_fill(live(info), static_cast<alto_elem>(int_arg(info, 0)), ptr_arg(info, 1), info[2].As<Napi::Number>().DoubleValue(),
                                 int_arg(info, 3)),
          "fill");
  }
  // fillUniform(ptr, n, state, lo, hi)
  void FillUniform(const Napi::CallbackInfo& info) {
    check(info, alto_engine_fill_uniform(live(info), static_cast<float*>(ptr_arg(info, 0)), int_arg(info, 1),
                                         info[2].As<Napi::Number>().Uint32Value(), info[3].As<Napi::Number>().DoubleValue(),
                                         info[4].As<Napi::Number>().DoubleValue()),
          "fillUniform");
  }
  // unary(op, elem, x, y, n, alpha)
  void Unary(const Napi::CallbackInfo& info) {
    check(info, alto_engine_unary(live(info), static_cast<alto_unary_op>(int_arg(info, 0)), static_cast<alto_elem>(int_arg(info, 1)), ptr_arg(info, 2),
                                  ptr_arg(info, 3), int_arg(info, 4), info[5].As<Napi::Number>().FloatValue()),
          "unary");
  }
  // binary(op, type, a, aStrides, b, bStrides, out, shape)
  void Binary(const Napi::CallbackInfo& info) {
    const auto sa = ints_arg(info, 3), sb = ints_arg(info, 5), shape = ints_arg(info, 7);
    if (sa.size() != shape.size() || sb.size() != shape.size()) throw Napi::Error::New(info.Env(), "binary: strides and shape differ in rank");
    check(info, alto_engine_binary(live(info), static_cast<alto_binary_op>(int_arg(info, 0)), static_cast<alto_elem>(int_arg(info, 1)),
                                   ptr_arg(info, 2), sa.data(), ptr_arg(info, 4), sb.data(), ptr_arg(info, 6), shape.data(),
                                   static_cast<int32_t>(shape.size())),
          "binary");
  }
  // cast(from, x, to, y, n)
  void Cast(const Napi::CallbackInfo& info) {
    check(info, alto_engine_cast(live(info), static_cast<alto_elem>(int_arg(info, 0)), ptr_arg(info, 1), static_cast<alto_elem>(int_arg(info, 2)),
                                 ptr_arg(info, 3), int_arg(info, 4)),
          "cast");
  }
  // select(type, cond, a, b, out, n)
  void Select(const Napi::CallbackInfo& info) {
    check(info, alto_engine_select(live(info), static_cast<alto_elem>(int_arg(info, 0)), static_cast<const uint8_t*>(ptr_arg(info, 1)),
                                   ptr_arg(info, 2), ptr_arg(info, 3), ptr_arg(info, 4), int_arg(info, 5)),
          "select");
  }
  // reduce(op, type, x, y, outer, inner)
  void Reduce(const Napi::CallbackInfo& info) {
    check(info, alto_engine_reduce(live(info), static_cast<alto_reduce_op>(int_arg(info, 0)), static_cast<alto_elem>(int_arg(info, 1)),
                                   ptr_arg(info, 2), ptr_arg(info, 3), int_arg(info, 4), int_arg(info, 5)),
          "reduce");
  }
  // transpose(x, y, shape, perm, elemBytes)
  void Transpose(const Napi::CallbackInfo& info) {
    const auto shape = ints_arg(info, 2), perm64 = ints_arg(info, 3);
    if (perm64.size() != shape.size()) throw Napi::Error::New(info.Env(), "transpose: perm and shape differ in rank");
    std::vector<int32_t> perm(perm64.begin(), perm64.end());
    check(info, alto_engine_transpose(live(info), ptr_arg(info, 0), ptr_arg(info, 1), shape.data(), perm.data(), static_cast<int32_t>(shape.size()),
                                      static_cast<int32_t>(int_arg(info, 4))),
          "transpose");
  }
  // matmul(precision, batch, m, n, k, A, strideA, transA, B, strideB, transB, C, add?, aBf16?): C = (or += when add)
  // op(A)·op(B); aBf16 (bf16 precision only, 0: none) is A's bf16 copy, used instead of rounding A again.
  void Matmul(const Napi::CallbackInfo& info) {
    alto_engine* e = live(info);
    const auto precision = static_cast<alto_matmul_precision>(int_arg(info, 0));
    const int64_t batch = int_arg(info, 1), m = int_arg(info, 2), n = int_arg(info, 3), k = int_arg(info, 4);
    const int64_t stride_a = int_arg(info, 6), stride_b = int_arg(info, 9);
    const int32_t trans_a = info[7].ToBoolean().Value(), trans_b = info[10].ToBoolean().Value();
    const auto* b = static_cast<const float*>(ptr_arg(info, 8));
    auto* c = static_cast<float*>(ptr_arg(info, 11));
    const bool add = info.Length() > 12 && info[12].ToBoolean().Value();
    const void* a16 = opt_ptr_arg(info, 13);
    if (a16 && precision == ALTO_MATMUL_BF16) {
      check(info, alto_engine_matmul_bf16_a(e, batch, m, n, k, a16, stride_a, trans_a, b, stride_b, trans_b, c, add), "matmul");
      return;
    }
    const auto* a = static_cast<const float*>(ptr_arg(info, 5));
    check(info, (add ? alto_engine_matmul_add : alto_engine_matmul)(e, precision, batch, m, n, k, a, stride_a, trans_a, b, stride_b, trans_b, c),
          "matmul");
  }
  // copyBox(elemBytes, src, srcOffset, srcStrides, dst, dstOffset, dstStrides, size)
  void CopyBox(const Napi::CallbackInfo& info) {
    const auto ss = ints_arg(info, 3), ds = ints_arg(info, 6), size = ints_arg(info, 7);
    if (ss.size() != size.size() || ds.size() != size.size()) throw Napi::Error::New(info.Env(), "copyBox: strides and size differ in rank");
    check(info, alto_engine_copy_box(live(info), static_cast<int32_t>(int_arg(info, 0)), ptr_arg(info, 1), int_arg(info, 2), ss.data(), ptr_arg(info, 4),
                                     int_arg(info, 5), ds.data(), size.data(), static_cast<int32_t>(size.size())),
          "copyBox");
  }
  // gather(elemBytes, x, indices, y, batch, outer, axisDim, inner, numIndices)
  void Gather(const Napi::CallbackInfo& info) {
    check(info, alto_engine_gather(live(info), static_cast<int32_t>(int_arg(info, 0)), ptr_arg(info, 1), static_cast<const int32_t*>(ptr_arg(info, 2)),
                                   ptr_arg(info, 3), int_arg(info, 4), int_arg(info, 5), int_arg(info, 6), int_arg(info, 7), int_arg(info, 8)),
          "gather");
  }
  // scan(elem, product, x, y, outer, n, inner, exclusive, reverse)
  void Scan(const Napi::CallbackInfo& info) {
    check(info, alto_engine_scan(live(info), static_cast<alto_elem>(int_arg(info, 0)), info[1].ToBoolean().Value() ? 1 : 0, ptr_arg(info, 2),
                                 ptr_arg(info, 3), int_arg(info, 4), int_arg(info, 5), int_arg(info, 6), info[7].ToBoolean().Value() ? 1 : 0,
                                 info[8].ToBoolean().Value() ? 1 : 0),
          "scan");
  }
  // segmentSum(elem, x, ids, y, rows, inner, numSegments)
  void SegmentSum(const Napi::CallbackInfo& info) {
    check(info, alto_engine_segment_sum(live(info), static_cast<alto_elem>(int_arg(info, 0)), ptr_arg(info, 1), static_cast<const int32_t*>(ptr_arg(info, 2)),
                                        ptr_arg(info, 3), int_arg(info, 4), int_arg(info, 5), int_arg(info, 6)),
          "segmentSum");
  }
  // oneHot(elem, indices, y, n, depth, on, off)
  void OneHot(const Napi::CallbackInfo& info) {
    check(info, alto_engine_one_hot(live(info), static_cast<alto_elem>(int_arg(info, 0)), static_cast<const int32_t*>(ptr_arg(info, 1)), ptr_arg(info, 2),
                                    int_arg(info, 3), int_arg(info, 4), info[5].As<Napi::Number>().DoubleValue(), info[6].As<Napi::Number>().DoubleValue()),
          "oneHot");
  }
  // softmax(x, y, outer, inner, log)
  void Softmax(const Napi::CallbackInfo& info) {
    check(info, alto_engine_softmax(live(info), static_cast<const float*>(ptr_arg(info, 0)), static_cast<float*>(ptr_arg(info, 1)), int_arg(info, 2),
                                    int_arg(info, 3), info[4].ToBoolean().Value() ? 1 : 0),
          "softmax");
  }
  // tokenCrossEntropy(logits, targets, loss, lse, rows, vocab)
  void TokenCrossEntropy(const Napi::CallbackInfo& info) {
    check(info, alto_engine_token_cross_entropy(live(info), static_cast<const float*>(ptr_arg(info, 0)), static_cast<const int32_t*>(ptr_arg(info, 1)),
                                                static_cast<float*>(ptr_arg(info, 2)), static_cast<float*>(ptr_arg(info, 3)), int_arg(info, 4), int_arg(info, 5)),
          "tokenCrossEntropy");
  }
  // tokenCrossEntropyGrad(logits, targets, lse, dloss, dlogits, rows, vocab)
  void TokenCrossEntropyGrad(const Napi::CallbackInfo& info) {
    check(info, alto_engine_token_cross_entropy_grad(live(info), static_cast<const float*>(ptr_arg(info, 0)), static_cast<const int32_t*>(ptr_arg(info, 1)),
                                                     static_cast<const float*>(ptr_arg(info, 2)), static_cast<const float*>(ptr_arg(info, 3)),
                                                     static_cast<float*>(ptr_arg(info, 4)), int_arg(info, 5), int_arg(info, 6)),
          "tokenCrossEntropyGrad");
  }
  // rmsNorm(x, g, y, invRms, rows, cols, eps, yBf16?): yBf16 (0: none) receives y rounded to bf16
  void RmsNorm(const Napi::CallbackInfo& info) {
    check(info, alto_engine_rms_norm(live(info), static_cast<const float*>(ptr_arg(info, 0)), static_cast<const float*>(ptr_arg(info, 1)),
                                     static_cast<float*>(ptr_arg(info, 2)), static_cast<float*>(ptr_arg(info, 3)), int_arg(info, 4), int_arg(info, 5),
                                     static_cast<float>(info[6].As<Napi::Number>().DoubleValue()), opt_ptr_arg(info, 7)),
          "rmsNorm");
  }
  // swiglu(gate, up, y, n, yBf16?): yBf16 (0: none) receives y rounded to bf16
  void Swiglu(const Napi::CallbackInfo& info) {
    check(info, alto_engine_swiglu(live(info), static_cast<const float*>(ptr_arg(info, 0)), static_cast<const float*>(ptr_arg(info, 1)),
                                   static_cast<float*>(ptr_arg(info, 2)), int_arg(info, 3), opt_ptr_arg(info, 4)),
          "swiglu");
  }
  // swigluGrad(gate, up, dy, dgate, dup, n)
  void SwigluGrad(const Napi::CallbackInfo& info) {
    check(info, alto_engine_swiglu_grad(live(info), static_cast<const float*>(ptr_arg(info, 0)), static_cast<const float*>(ptr_arg(info, 1)),
                                        static_cast<const float*>(ptr_arg(info, 2)), static_cast<float*>(ptr_arg(info, 3)),
                                        static_cast<float*>(ptr_arg(info, 4)), int_arg(info, 5)),
          "swigluGrad");
  }
  // rope(backward, x, cos, sin, y, outer, seq, headDim)
  void Rope(const Napi::CallbackInfo& info) {
    check(info, alto_engine_rope(live(info), info[0].As<Napi::Boolean>().Value() ? 1 : 0, static_cast<const float*>(ptr_arg(info, 1)),
                                 static_cast<const float*>(ptr_arg(info, 2)), static_cast<const float*>(ptr_arg(info, 3)),
                                 static_cast<float*>(ptr_arg(info, 4)), int_arg(info, 5), int_arg(info, 6), int_arg(info, 7)),
          "rope");
  }
  // adamw(params[], grads[], m[], v[], sizes[], scalars[8]) — scalars as alto_engine_adamw's
  void AdamW(const Napi::CallbackInfo& info) {
    const auto ptrs = [&](size_t i) {
      const auto arr = info[i].As<Napi::Array>();
      std::vector<float*> out(arr.Length());
      for (uint32_t k = 0; k < arr.Length(); ++k) out[k] = reinterpret_cast<float*>(static_cast<uintptr_t>(arr.Get(k).As<Napi::Number>().DoubleValue()));
      return out;
    };
    const auto p = ptrs(0), g = ptrs(1), m = ptrs(2), v = ptrs(3);
    const auto sizes = ints_arg(info, 4);
    if (g.size() != p.size() || m.size() != p.size() || v.size() != p.size() || sizes.size() != p.size()) {
      Napi::TypeError::New(info.Env(), "adamw: params, grads, m, v and sizes must have one entry per tensor").ThrowAsJavaScriptException();
      return;
    }
    const auto arr = info[5].As<Napi::Array>();
    if (arr.Length() != 8) {
      Napi::TypeError::New(info.Env(), "adamw: needs 8 scalars").ThrowAsJavaScriptException();
      return;
    }
    float scalars[8];
    for (uint32_t k = 0; k < 8; ++k) scalars[k] = static_cast<float>(arr.Get(k).As<Napi::Number>().DoubleValue());
    std::vector<const float*> grads(g.begin(), g.end());
    check(info, alto_engine_adamw(live(info), p.data(), grads.data(), m.data(), v.data(), sizes.data(), static_cast<int64_t>(p.size()), scalars),
          "adamw");
  }
  // copyMany(dst[], src[], bytes[]): one launch
  void CopyMany(const Napi::CallbackInfo& info) {
    const auto ptrs = [&](size_t i) {
      const auto arr = info[i].As<Napi::Array>();
      std::vector<void*> out(arr.Length());
      for (uint32_t k = 0; k < arr.Length(); ++k) out[k] = reinterpret_cast<void*>(static_cast<uintptr_t>(arr.Get(k).As<Napi::Number>().DoubleValue()));
      return out;
    };
    const auto dst = ptrs(0), src = ptrs(1);
    const auto bytes = ints_arg(info, 2);
    if (src.size() != dst.size() || bytes.size() != dst.size()) {
      Napi::TypeError::New(info.Env(), "copyMany: dst, src and bytes must have one entry per buffer").ThrowAsJavaScriptException();
      return;
    }
    std::vector<const void*> from(src.begin(), src.end());
    check(info, alto_engine_copy_many(live(info), dst.data(), from.data(), bytes.data(), static_cast<int64_t>(dst.size())), "copyMany");
  }
  // rmsNormGrad(x, g, invRms, dy, dx, dg, rows, cols)
  void RmsNormGrad(const Napi::CallbackInfo& info) {
    check(info, alto_engine_rms_norm_grad(live(info), static_cast<const float*>(ptr_arg(info, 0)), static_cast<const float*>(ptr_arg(info, 1)),
                                          static_cast<const float*>(ptr_arg(info, 2)), static_cast<const float*>(ptr_arg(info, 3)),
                                          static_cast<float*>(ptr_arg(info, 4)), static_cast<float*>(ptr_arg(info, 5)), int_arg(info, 6), int_arg(info, 7)),
          "rmsNormGrad");
  }
  // layerNorm(x, g, b, y, mean, invStd, rows, cols, eps)
  void LayerNorm(const Napi::CallbackInfo& info) {
    check(info, alto_engine_layer_norm(live(info), static_cast<const float*>(ptr_arg(info, 0)), static_cast<const float*>(ptr_arg(info, 1)),
                                       static_cast<const float*>(ptr_arg(info, 2)), static_cast<float*>(ptr_arg(info, 3)),
                                       static_cast<float*>(ptr_arg(info, 4)), static_cast<float*>(ptr_arg(info, 5)), int_arg(info, 6), int_arg(info, 7),
                                       static_cast<float>(info[8].As<Napi::Number>().DoubleValue())),
          "layerNorm");
  }
  // layerNormGrad(x, g, mean, invStd, dy, dx, dg, db, rows, cols)
  void LayerNormGrad(const Napi::CallbackInfo& info) {
    check(info, alto_engine_layer_norm_grad(live(info), static_cast<const float*>(ptr_arg(info, 0)), static_cast<const float*>(ptr_arg(info, 1)),
                                            static_cast<const float*>(ptr_arg(info, 2)), static_cast<const float*>(ptr_arg(info, 3)),
                                            static_cast<const float*>(ptr_arg(info, 4)), static_cast<float*>(ptr_arg(info, 5)),
                                            static_cast<float*>(ptr_arg(info, 6)), static_cast<float*>(ptr_arg(info, 7)), int_arg(info, 8), int_arg(info, 9)),
          "layerNormGrad");
  }
  // An optional trailing boolean: true → 1.
  static int32_t flag_arg(const Napi::CallbackInfo& info, size_t i) { return info.Length() > i && info[i].IsBoolean() && info[i].As<Napi::Boolean>().Value() ? 1 : 0; }
  // attention(q, k, v, o, lse, batch, heads, kvHeads, seq, headDim, scale, tf32?)
  void Attention(const Napi::CallbackInfo& info) {
    check(info, alto_engine_attention(live(info), static_cast<const float*>(ptr_arg(info, 0)), static_cast<const float*>(ptr_arg(info, 1)),
                                      static_cast<const float*>(ptr_arg(info, 2)), static_cast<float*>(ptr_arg(info, 3)),
                                      static_cast<float*>(ptr_arg(info, 4)), int_arg(info, 5), int_arg(info, 6), int_arg(info, 7), int_arg(info, 8),
                                      int_arg(info, 9), static_cast<float>(info[10].As<Napi::Number>().DoubleValue()), flag_arg(info, 11)),
          "attention");
  }
  // attentionGrad(q, k, v, o, lse, dO, dq, dk, dv, batch, heads, kvHeads, seq, headDim, scale, tf32?)
  void AttentionGrad(const Napi::CallbackInfo& info) {
    check(info, alto_engine_attention_grad(live(info), static_cast<const float*>(ptr_arg(info, 0)), static_cast<const float*>(ptr_arg(info, 1)),
                                           static_cast<const float*>(ptr_arg(info, 2)), static_cast<const float*>(ptr_arg(info, 3)),
                                           static_cast<const float*>(ptr_arg(info, 4)), static_cast<const float*>(ptr_arg(info, 5)),
                                           static_cast<float*>(ptr_arg(info, 6)), static_cast<float*>(ptr_arg(info, 7)),
                                           static_cast<float*>(ptr_arg(info, 8)), int_arg(info, 9), int_arg(info, 10), int_arg(info, 11),
                                           int_arg(info, 12), int_arg(info, 13), static_cast<float>(info[14].As<Napi::Number>().DoubleValue()),
                                           flag_arg(info, 15)),
          "attentionGrad");
  }
  void LoraForwardMethod(const Napi::CallbackInfo& info) { LoraForward(info, live(info)); }
  void LoraBackwardMethod(const Napi::CallbackInfo& info) { LoraBackward(info, live(info)); }
  void Destroy(const Napi::CallbackInfo&) {
    if (pending_downloads_ > 0) destroy_requested_ = true;
    else DestroyNow();
  }
  void DestroyNow() {
    alto_engine_destroy(engine_);
    engine_ = nullptr;
  }
  Napi::Value DownloadAsync(const Napi::CallbackInfo& info);
};

// downloadAsync(ptr, host): the device copy is taken now (in stream order); a worker thread
// waits for it and fills `host`, and the promise resolves on this thread.
class DownloadWorker : public Napi::AsyncWorker {
 public:
  DownloadWorker(Napi::Env env, Engine* engine, Napi::Object owner, alto_download* d, Napi::TypedArray host)
      : Napi::AsyncWorker(env, "alto:download"), deferred_(Napi::Promise::Deferred::New(env)), engine_(engine), d_(d) {
    owner_ = Napi::Persistent(owner);
    host_ = Napi::Persistent(host.As<Napi::Object>());
    dst_ = static_cast<char*>(host.ArrayBuffer().Data()) + host.ByteOffset();
  }
  Napi::Promise Promise() const { return deferred_.Promise(); }
  void Execute() override {
    if (alto_download_finish(d_, dst_) != ALTO_OK) SetError(alto_download_error(d_));
  }
  void OnOK() override {
    engine_->DownloadEnded(d_);
    deferred_.Resolve(Env().Undefined());
  }
  void OnError(const Napi::Error& e) override {
    engine_->DownloadEnded(d_);
    deferred_.Reject(e.Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  Engine* engine_;
  alto_download* d_;
  Napi::ObjectReference owner_, host_;  // both stay alive until the read ends
  char* dst_ = nullptr;
};

Napi::Value Engine::DownloadAsync(const Napi::CallbackInfo& info) {
  alto_engine* e = live(info);
  const auto host = info[1].As<Napi::TypedArray>();
  alto_download* d = nullptr;
  check(info, alto_engine_download_begin(e, ptr_arg(info, 0), host.ByteLength(), &d), "downloadAsync");
  auto* worker = new DownloadWorker(info.Env(), this, info.This().As<Napi::Object>(), d, host);
  ++pending_downloads_;
  worker->Queue();
  return worker->Promise();
}

}  // namespace

void InitEngine(Napi::Env env, Napi::Object exports) { exports.Set("CudaEngine", Engine::Define(env)); }

}  // namespace alto::node
