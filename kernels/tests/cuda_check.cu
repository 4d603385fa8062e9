// Correctness of the CUDA kernels against the float64 reference, on fresh random inputs with
// poisoned outputs (NaN: an element left unwritten fails the check). fp32 must agree to
// 1e-5, TF32 products to 5e-3 and bf16 storage to 1e-2 (relative L2 error per output).
// `--quick` runs the small cases only (for compute-sanitizer). Exit status 0 only when every
// check passes.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include "alto/kernels.h"
#include "cuda_util.h"
#include "reference.h"

using alto::reference::Problem;

namespace {


struct Case {
  std::string name;
  std::vector<int32_t> lengths, seg_adapter, ranks;
  int32_t d_in, d_out;
  bool in_place;
  bool big;
  bool no_base = false;  // no base or dx_base: Y and dX are the LoRA products alone
};

std::vector<Case> cases() {
  std::vector<Case> out;
  out.push_back({"one adapter, rank 1", {5}, {0}, {1}, 16, 16, false, false});
  out.push_back({"mixed ranks, odd dims", {7, 0, 1, 33, 2}, {0, 1, 2, 3, 0}, {3, 5, 12, 1}, 37, 29, false, false});
  out.push_back({"rows without LoRA, unowned adapter", {4, 9, 0, 17}, {1, -1, 0, 1}, {8, 64, 2}, 70, 45, true, false});
  out.push_back({"ranks 64..256 across tiles", {40, 3, 65}, {0, 1, 2}, {256, 65, 130}, 96, 200, false, false});
  out.push_back({"skewed 0/1/4096 rows", {0, 1, 4096, 1, 0, 300}, {0, 1, 2, 3, 4, 5}, {16, 32, 64, 7, 16, 33}, 257, 131, false, true});
  // Ranks ≤ 64 and d a multiple of 8 (the fast copies): tail tiles, an adapter owning two
  // segments (its gradients summed from two chunks), rows without LoRA.
  out.push_back({"ranks 16/32/64, tails", {0, 1, 700, 64, 129, 3}, {0, 1, 2, 0, 1, 3}, {16, 32, 64, 8}, 264, 520, false, false});
  out.push_back({"no-LoRA rows, in place, d 2056", {10, 50, 200, 77}, {0, -1, 1, 0}, {5, 12}, 64, 2056, true, false});
  // No base (as the tfjs backend's dX of the LoRA branch): tails, rows without LoRA.
  out.push_back({"no base, tails", {0, 1, 700, 64, 129, 3}, {0, 1, 2, 0, 1, 3}, {16, 32, 64, 8}, 264, 520, false, false, true});
  out.push_back({"no base, no-LoRA rows", {10, 50, 200, 77}, {0, -1, 1, 0}, {5, 12}, 72, 136, false, false, true});
  out.push_back({"d 4096", {300, 1, 513}, {0, 1, 2}, {64, 40, 16}, 4096, 4096, false, true});
  out.push_back({"long segment, rank 1", {5000}, {0}, {1}, 128, 8, false, true});
  // d a multiple of 64, ranks ≤ 64, few rows: d split across blocks that add their partial
  // sums (the wgmma row-reduce on an H200; the cp.async one, split across a cluster, where the
  // wgmma kernel does not run); rows without LoRA, an unowned adapter.
  out.push_back({"few rows, d 512/192", {0, 65, 1, 130, 64, 7}, {0, 1, -1, 2, 0, 3}, {16, 64, 24, 3, 8}, 512, 192, false, false});
  // Enough row tiles to fill an H200, so the shrink and dS take the wgmma kernel (4 and 3 steps
  // along d): weight rows by cp.async (A: ranks 16/24/64; B: all) and by plain copies (A: rank
  // 3), rows without LoRA, an unowned adapter.
  out.push_back({"wgmma shrink and dS, 8700 rows", {0, 4100, 3, 2048, 2500, 49}, {0, 1, -1, 2, 0, 3}, {16, 64, 24, 3, 8}, 256, 192, false, true});
  // 256 adapters, each with a few rows, ranks 1..256 mixed.
  Case many{"256 adapters", {}, {}, {}, 72, 88, false, true};
  for (int a = 0; a < 256; ++a) {
    many.lengths.push_back(a % 5);
    many.seg_adapter.push_back(a);
    many.ranks.push_back(1 + (a * 37) % 256);
  }
  out.push_back(many);
  return out;
}

uint16_t to_bf16_bits(float v) {
  __nv_bfloat16 h = __float2bfloat16_rn(v);
  uint16_t bits;
  std::memcpy(&bits, &h, 2);
  return bits;
}

float round_bf16(float v) {
  uint32_t bits = static_cast<uint32_t>(to_bf16_bits(v)) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

struct DeviceBuffer {
  void* ptr = nullptr;
  size_t bytes = 0;
  explicit DeviceBuffer(size_t n) : bytes(n) { CHECK_CUDA(cudaMalloc(&ptr, n ? n : 1)); }
  ~DeviceBuffer() { cudaFree(ptr); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
};

const char* dtype_name(alto_dtype dtype) { return dtype == ALTO_F32 ? "fp32" : dtype == ALTO_BF16 ? "bf16" : "tf32"; }

// Uploads host floats as the storage type.
DeviceBuffer* upload(const std::vector<float>& v, alto_dtype dtype) {
  if (dtype != ALTO_BF16) {
    auto* b = new DeviceBuffer(v.size() * 4);
    CHECK_CUDA(cudaMemcpy(b->ptr, v.data(), v.size() * 4, cudaMemcpyHostToDevice));
    return b;
  }
  std::vector<uint16_t> bits(v.size());
  for (size_t i = 0; i < v.size(); ++i) bits[i] = to_bf16_bits(v[i]);
  auto* b = new DeviceBuffer(v.size() * 2);
  CHECK_CUDA(cudaMemcpy(b->ptr, bits.data(), v.size() * 2, cudaMemcpyHostToDevice));
  return b;
}

std::vector<double> download(const DeviceBuffer& b, size_t n, alto_dtype dtype) {
  std::vector<double> out(n);
  if (dtype != ALTO_BF16) {
    std::vector<float> f(n);
    CHECK_CUDA(cudaMemcpy(f.data(), b.ptr, n * 4, cudaMemcpyDeviceToHost));
    for (size_t i = 0; i < n; ++i) out[i] = f[i];
  } else {
    std::vector<uint16_t> bits(n);
    CHECK_CUDA(cudaMemcpy(bits.data(), b.ptr, n * 2, cudaMemcpyDeviceToHost));
    for (size_t i = 0; i < n; ++i) {
      uint32_t w = static_cast<uint32_t>(bits[i]) << 16;
      float f;
      std::memcpy(&f, &w, 4);
      out[i] = f;
    }
  }
  return out;
}

double rel_error(const std::vector<double>& got, const std::vector<double>& ref) {
  double num = 0, den = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    if (!std::isfinite(got[i])) return INFINITY;  // poison left in place, or a NaN produced
    num += (got[i] - ref[i]) * (got[i] - ref[i]);
    den += ref[i] * ref[i];
  }
  return den == 0 ? std::sqrt(num) : std::sqrt(num / den);
}

template <typename T>
T* device_copy(const std::vector<T>& v) {
  T* p = nullptr;
  CHECK_CUDA(cudaMalloc(&p, v.size() * sizeof(T) + 1));
  CHECK_CUDA(cudaMemcpy(p, v.data(), v.size() * sizeof(T), cudaMemcpyHostToDevice));
  return p;
}

bool run_case(const Case& c, alto_dtype dtype, std::mt19937& rng) {
  Problem p;
  p.offsets = {0};
  for (int32_t len : c.lengths) p.offsets.push_back(p.offsets.back() + len);
  p.seg_adapter = c.seg_adapter;
  p.ranks = c.ranks;
  p.d_in = c.d_in;
  p.d_out = c.d_out;
  p.max_rank = 0;
  for (int32_t r : c.ranks) p.max_rank = std::max(p.max_rank, r);
  std::uniform_real_distribution<float> uni(-1.0f, 1.0f);
  for (size_t a = 0; a < c.ranks.size(); ++a) p.scales.push_back(0.5f + 2.0f * (uni(rng) + 1.0f));
  const int64_t T = p.rows(), K = static_cast<int64_t>(c.ranks.size());
  auto fill = [&](size_t n) {
    std::vector<float> v(n);
    for (float& x : v) x = dtype == ALTO_BF16 ? round_bf16(uni(rng)) : uni(rng);
    return v;
  };
  std::vector<float> X = fill(T * c.d_in), base = fill(T * c.d_out), dY = fill(T * c.d_out), dxb = fill(T * c.d_in);
  if (c.no_base) {  // the reference adds zeros; the kernels get null bases
    std::fill(base.begin(), base.end(), 0.0f);
    std::fill(dxb.begin(), dxb.end(), 0.0f);
  }
  std::vector<std::vector<float>> A, B, dA0, dB0;
  for (int64_t a = 0; a < K; ++a) {
    A.push_back(fill(static_cast<size_t>(c.d_in) * c.ranks[a]));
    B.push_back(fill(static_cast<size_t>(c.ranks[a]) * c.d_out));
    dA0.push_back(fill(static_cast<size_t>(c.d_in) * c.ranks[a]));
    dB0.push_back(fill(static_cast<size_t>(c.ranks[a]) * c.d_out));
  }
  const auto ref = alto::reference::compute(p, X, base, dY, dxb, A, B);

  // Device copies; outputs poisoned with NaN (bytes 0xFF).
  std::unique_ptr<DeviceBuffer> dX_in(upload(X, dtype)), dBase(upload(base, dtype)), ddY(upload(dY, dtype)), dDxb(upload(dxb, dtype));
  const size_t esize = dtype == ALTO_BF16 ? 2 : 4;
  DeviceBuffer S(T * p.max_rank * 4), Y(T * c.d_out * esize), dX(T * c.d_in * esize);
  CHECK_CUDA(cudaMemset(S.ptr, 0xFF, S.bytes));
  CHECK_CUDA(cudaMemset(Y.ptr, 0xFF, Y.bytes));
  CHECK_CUDA(cudaMemset(dX.ptr, 0xFF, dX.bytes));
  std::vector<std::unique_ptr<DeviceBuffer>> Ad, Bd, dAd, dBd;
  std::vector<const void*> A_ptrs, B_ptrs;
  std::vector<float*> dA_ptrs, dB_ptrs;
  for (int64_t a = 0; a < K; ++a) {
    Ad.emplace_back(upload(A[a], dtype));
    Bd.emplace_back(upload(B[a], dtype));
    dAd.emplace_back(upload(dA0[a], ALTO_F32));
    dBd.emplace_back(upload(dB0[a], ALTO_F32));
    A_ptrs.push_back(Ad.back()->ptr);
    B_ptrs.push_back(Bd.back()->ptr);
    dA_ptrs.push_back(static_cast<float*>(dAd.back()->ptr));
    dB_ptrs.push_back(static_cast<float*>(dBd.back()->ptr));
  }
  int32_t* offs = device_copy(p.offsets);
  int32_t* segs = device_copy(p.seg_adapter);
  int32_t* ranks = device_copy(p.ranks);
  float* scales = device_copy(p.scales);
  const void** a_dev = device_copy(A_ptrs);
  const void** b_dev = device_copy(B_ptrs);
  float** da_dev = device_copy(dA_ptrs);
  float** db_dev = device_copy(dB_ptrs);
  alto_segments seg{static_cast<int32_t>(c.lengths.size()), static_cast<int32_t>(T), offs, segs, static_cast<int32_t>(K),
                    p.max_rank, ranks, scales};
  const size_t ws_bytes = alto_cuda_backward_workspace(&seg);
  DeviceBuffer ws(ws_bytes);
  CHECK_CUDA(cudaMemset(ws.ptr, 0xFF, ws.bytes));

  void* y_out = Y.ptr;
  const void* y_base = c.no_base ? nullptr : dBase->ptr;
  void* dx_out = dX.ptr;
  const void* dx_base = c.no_base ? nullptr : dDxb->ptr;
  if (c.in_place) {  // Y and dX written over their base in place
    y_out = dBase->ptr;
    dx_out = dDxb->ptr;
  }
  bool ok = true;
  auto status = [&](const char* what, alto_status st) {
    if (st != ALTO_OK) {
      std::printf("  %s failed: %s\n", what, alto_status_string(st));
      ok = false;
    }
  };
  status("shrink", alto_cuda_shrink(&seg, dtype, dX_in->ptr, c.d_in, a_dev, static_cast<float*>(S.ptr), nullptr));
  status("expand", alto_cuda_expand(&seg, dtype, static_cast<float*>(S.ptr), b_dev, c.d_out, y_base, y_out, nullptr));
  status("backward", alto_cuda_backward(&seg, dtype, dX_in->ptr, c.d_in, ddY->ptr, c.d_out, a_dev, b_dev, static_cast<float*>(S.ptr),
                                        dx_base, dx_out, da_dev, db_dev, ws.ptr, ws.bytes, nullptr));
  CHECK_CUDA(cudaDeviceSynchronize());

  // TF32 rounds every input to a 10-bit mantissa (2^-11 ≈ 5e-4 relative each).
  const double tol = dtype == ALTO_F32 ? 1e-5 : dtype == ALTO_F32_TF32 ? 5e-3 : 1e-2;
  auto report = [&](const char* what, double err) {
    const bool pass = err <= tol;
    ok = ok && pass;
    std::printf("  %-4s %-3s rel %.2e %s\n", dtype_name(dtype), what, err, pass ? "ok" : "FAIL");
  };
  report("S", rel_error(download(S, T * p.max_rank, ALTO_F32), ref.S));
  {
    DeviceBuffer* yb = c.in_place ? dBase.get() : &Y;
    report("Y", rel_error(download(*yb, T * c.d_out, dtype), ref.Y));
    DeviceBuffer* xb = c.in_place ? dDxb.get() : &dX;
    report("dX", rel_error(download(*xb, T * c.d_in, dtype), ref.dX));
  }
  report("dS", rel_error(download(ws, T * p.max_rank, ALTO_F32), ref.dS));
  std::vector<double> gotA, refA, gotB, refB;
  for (int64_t a = 0; a < K; ++a) {
    auto ga = download(*dAd[a], dA0[a].size(), ALTO_F32);
    auto gb = download(*dBd[a], dB0[a].size(), ALTO_F32);
    for (size_t i = 0; i < ga.size(); ++i) {
      gotA.push_back(ga[i] - dA0[a][i]);  // accumulate semantics: subtract what was there
      refA.push_back(ref.dA[a][i]);
    }
    for (size_t i = 0; i < gb.size(); ++i) {
      gotB.push_back(gb[i] - dB0[a][i]);
      refB.push_back(ref.dB[a][i]);
    }
  }
  report("dA", rel_error(gotA, refA));
  report("dB", rel_error(gotB, refB));
  for (void* ptr : {static_cast<void*>(offs), static_cast<void*>(segs), static_cast<void*>(ranks), static_cast<void*>(scales),
                    static_cast<void*>(a_dev), static_cast<void*>(b_dev), static_cast<void*>(da_dev), static_cast<void*>(db_dev)}) {
    cudaFree(ptr);
  }
  return ok;
}

bool check_rejections() {
  alto_segments bad{1, 4, nullptr, nullptr, 1, 0, nullptr, nullptr};
  const bool ok = alto_cuda_shrink(&bad, ALTO_F32, nullptr, 8, nullptr, nullptr, nullptr) == ALTO_ERR_INVALID_ARGUMENT &&
                  alto_cuda_shrink(nullptr, ALTO_F32, nullptr, 8, nullptr, nullptr, nullptr) == ALTO_ERR_INVALID_ARGUMENT;
  std::printf("bad arguments rejected with a status: %s\n", ok ? "ok" : "FAIL");
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::string(argv[1]) == "--quick";
  if (alto_cuda_device_count() == 0) {
    std::printf("SKIPPED: no CUDA device\n");
    return 0;
  }
  cudaDeviceProp prop;
  CHECK_CUDA(cudaGetDeviceProperties(&prop, 0));
  std::printf("device: %s (sm_%d%d)\n", prop.name, prop.major, prop.minor);
  std::random_device seed_source;
  const unsigned seed = seed_source();
  std::printf("seed %u\n", seed);
  std::mt19937 rng(seed);
  bool ok = check_rejections();
  int passed = 0, failed = 0;
  for (const Case& c : cases()) {
    if (quick && c.big) continue;
    for (alto_dtype dtype : {ALTO_F32, ALTO_F32_TF32, ALTO_BF16}) {
      std::printf("%s [%s]\n", c.name.c_str(), dtype_name(dtype));
      const bool pass = run_case(c, dtype, rng);
      (pass ? passed : failed)++;
      ok = ok && pass;
    }
  }
  std::printf("cuda_check: %d passed, %d failed\n", passed, failed);
  return ok ? 0 : 1;
}
