// Times the engine's fused causal attention (alto_engine_attention and its gradient) at the
// shape of the end-to-end sweep's Llama — 32 query heads, 8 key/value heads, head dim 64,
// sequences of 512 — for 8 and 64 sequences (an evaluation's and a training step's batch),
// with TF32 and exact fp32 products. Before timing, one small case (tails, grouped heads) is
// checked against a float64 host reference: o, dq, dk and dv. With --check-only it stops after
// the check (what compute-sanitizer runs).
//   alto_attention_bench OUT.json [--check-only]
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include <cuda_runtime.h>

#include "alto/engine.h"
#include "../tests/cuda_util.h"
#include "attention_reference.h"

namespace {

using attention_ref::Shape;

// Device buffers of one shape, filled with uniform values in [-1, 1].
struct Buffers {
  alto_engine* e;
  float *q, *k, *v, *o, *lse, *dO, *dq, *dk, *dv;
  std::vector<float> hq, hk, hv, hdO;
  Buffers(alto_engine* engine, const Shape& s, std::mt19937& rng) : e(engine) {
    q = alloc(s.q_elems()), k = alloc(s.kv_elems()), v = alloc(s.kv_elems()), o = alloc(s.q_elems());
    lse = alloc(s.batch * s.heads * s.seq), dO = alloc(s.q_elems()), dq = alloc(s.q_elems()), dk = alloc(s.kv_elems()), dv = alloc(s.kv_elems());
    hq = upload(q, s.q_elems(), rng), hk = upload(k, s.kv_elems(), rng), hv = upload(v, s.kv_elems(), rng), hdO = upload(dO, s.q_elems(), rng);
  }
  ~Buffers() {
    for (float* p : {q, k, v, o, lse, dO, dq, dk, dv}) alto_engine_free(e, p);
  }
  float* alloc(int64_t n) {
    void* p = nullptr;
    CHECK_ALTO(alto_engine_alloc(e, static_cast<size_t>(n) * 4, &p));
    return static_cast<float*>(p);
  }
  std::vector<float> upload(float* dst, int64_t n, std::mt19937& rng) {
    std::uniform_real_distribution<float> uni(-1.0f, 1.0f);
    std::vector<float> h(n);
    for (float& x : h) x = uni(rng);
    CHECK_ALTO(alto_engine_upload(e, dst, h.data(), h.size() * 4));
    return h;
  }
  std::vector<float> download(const float* src, int64_t n) {
    std::vector<float> h(n);
    CHECK_ALTO(alto_engine_download(e, h.data(), src, h.size() * 4));
    return h;
  }
  void forward(const Shape& s, float scale, int tf32) {
    CHECK_ALTO(alto_engine_attention(e, q, k, v, o, lse, s.batch, s.heads, s.kv_heads, s.seq, s.head_dim, scale, tf32));
  }
  void backward(const Shape& s, float scale, int tf32) {
    CHECK_ALTO(alto_engine_attention_grad(e, q, k, v, o, lse, dO, dq, dk, dv, s.batch, s.heads, s.kv_heads, s.seq, s.head_dim, scale, tf32));
  }
};

// Largest |got − want| over the largest |want|.
double rel_diff(const std::vector<float>& got, const std::vector<double>& want) {
  double num = 0.0, den = 0.0;
  for (size_t i = 0; i < want.size(); ++i) {
    num = std::max(num, std::fabs(got[i] - want[i]));
    den = std::max(den, std::fabs(want[i]));
  }
  return den > 0 ? num / den : num;
}

// Median milliseconds of `fn` on the engine's stream, after warm-up.
template <typename Fn>
double median_ms(alto_engine* e, Fn fn, int reps = 15) {
  cudaStream_t stream = static_cast<cudaStream_t>(alto_engine_stream(e));
  cudaEvent_t start, stop;
  CHECK_CUDA(cudaEventCreate(&start));
  CHECK_CUDA(cudaEventCreate(&stop));
  for (int i = 0; i < 3; ++i) fn();
  std::vector<double> ms;
  for (int i = 0; i < reps; ++i) {
    CHECK_CUDA(cudaEventRecord(start, stream));
    fn();
    CHECK_CUDA(cudaEventRecord(stop, stream));
    CHECK_CUDA(cudaEventSynchronize(stop));
    float t = 0.0f;
    CHECK_CUDA(cudaEventElapsedTime(&t, start, stop));
    ms.push_back(t);
  }
  CHECK_CUDA(cudaEventDestroy(start));
  CHECK_CUDA(cudaEventDestroy(stop));
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  if (alto_cuda_device_count() == 0) {
    std::printf("SKIPPED: no CUDA device\n");
    return 0;
  }
  const char* out_path = argc > 1 ? argv[1] : "attention_bench.json";
  alto_engine* e = nullptr;
  CHECK_ALTO(alto_engine_create(0, nullptr, &e));
  std::mt19937 rng(99);
  cudaDeviceProp prop;
  CHECK_CUDA(cudaGetDeviceProperties(&prop, 0));

  // Correctness first: 2 sequences, 4 query heads on 2 key/value heads, 70 tokens (a tail tile).
  bool ok = true;
  std::string check_json;
  {
    const Shape s{2, 4, 2, 70, 64};
    Buffers b(e, s, rng);
    const double scale = 1.0 / std::sqrt(double(s.head_dim));
    const attention_ref::Reference want = attention_ref::reference(s, b.hq, b.hk, b.hv, b.hdO, scale);
    for (int tf32 : {0, 1}) {
      b.forward(s, float(scale), tf32);
      b.backward(s, float(scale), tf32);
      const double eo = rel_diff(b.download(b.o, s.q_elems()), want.o), edq = rel_diff(b.download(b.dq, s.q_elems()), want.dq);
      const double edk = rel_diff(b.download(b.dk, s.kv_elems()), want.dk), edv = rel_diff(b.download(b.dv, s.kv_elems()), want.dv);
      const double worst = std::max({eo, edq, edk, edv}), tolerance = tf32 ? 5e-3 : 1e-5;
      const bool pass = worst <= tolerance;
      ok = ok && pass;
      std::printf("check %s: o %.2e, dq %.2e, dk %.2e, dv %.2e (tolerance %.0e) %s\n", tf32 ? "tf32" : "fp32", eo, edq, edk, edv, tolerance, pass ? "ok" : "FAIL");
      char row[256];
      std::snprintf(row, sizeof row, "%s\"%s\": {\"o\": %.3e, \"dq\": %.3e, \"dk\": %.3e, \"dv\": %.3e, \"ok\": %s}", check_json.empty() ? "" : ", ",
                    tf32 ? "tf32" : "fp32", eo, edq, edk, edv, pass ? "true" : "false");
      check_json += row;
    }
  }
  if (!ok || (argc > 2 && std::string(argv[2]) == "--check-only")) {
    if (!ok) std::printf("attention_bench: the check failed; nothing timed\n");
    alto_engine_destroy(e);
    return ok ? 0 : 1;
  }

  FILE* f = std::fopen(out_path, "w");
  std::fprintf(f, "{\"device\": \"%s\", \"check\": {%s}, \"results\": [\n", prop.name, check_json.c_str());
  std::printf("%5s %5s %3s %5s %4s %5s | %9s %9s %9s | %8s %8s\n", "batch", "heads", "kv", "seq", "dh", "prod", "fwd ms", "bwd ms", "f+b ms", "fwd TF/s", "bwd TF/s");
  bool first = true;
  for (int64_t batch : {8, 64}) {
    const Shape s{batch, 32, 8, 512, 64};
    Buffers b(e, s, rng);
    const float scale = 1.0f / std::sqrt(float(s.head_dim));
    // Causal products: QKᵀ and PV forward (T²·dh multiply-adds each, halved by the mask);
    // dV, dP, dQ and dK backward, and QKᵀ again.
    const double fwd_flops = 2.0 * s.batch * s.heads * s.seq * s.seq * s.head_dim, bwd_flops = 2.5 * fwd_flops;
    for (int tf32 : {1, 0}) {
      const double fwd = median_ms(e, [&] { b.forward(s, scale, tf32); });
      const double both = median_ms(e, [&] {
        b.forward(s, scale, tf32);
        b.backward(s, scale, tf32);
      });
      const double bwd = both - fwd;
      std::printf("%5ld %5ld %3ld %5ld %4ld %5s | %9.3f %9.3f %9.3f | %8.1f %8.1f\n", long(s.batch), long(s.heads), long(s.kv_heads), long(s.seq),
                  long(s.head_dim), tf32 ? "tf32" : "fp32", fwd, bwd, both, fwd_flops / fwd / 1e9, bwd_flops / bwd / 1e9);
      std::fprintf(f,
                   "%s  {\"batch\": %ld, \"heads\": %ld, \"kv_heads\": %ld, \"seq\": %ld, \"head_dim\": %ld, \"products\": \"%s\", \"fwd_ms\": %.4f, "
                   "\"bwd_ms\": %.4f, \"fwd_bwd_ms\": %.4f, \"fwd_tflops\": %.2f, \"bwd_tflops\": %.2f}",
                   first ? "" : ",\n", long(s.batch), long(s.heads), long(s.kv_heads), long(s.seq), long(s.head_dim), tf32 ? "tf32" : "fp32", fwd, bwd,
                   both, fwd_flops / fwd / 1e9, bwd_flops / bwd / 1e9);
      first = false;
    }
  }
  std::fprintf(f, "\n]}\n");
  std::fclose(f);
  alto_engine_destroy(e);
  std::printf("written %s\n", out_path);
  return 0;
}
