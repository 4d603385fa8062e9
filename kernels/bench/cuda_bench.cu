// Times ALTO's grouped-LoRA kernels (forward + backward of one LoRA-targeted projection)
// against a per-adapter loop of cuBLAS GEMMs in the same binary, and measures the device's
// copy bandwidth in the same run. Before timing, both are run once from the same inputs and
// their outputs compared (they must compute the same function).
//   alto_cuda_bench OUT.json
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include "alto/kernels.h"
#include "../tests/cuda_util.h"
#include "cublas.h"

namespace {


struct Shape {
  int d, adapters, batch, seq;
};

template <typename T>
T* dalloc(size_t n) {
  T* p = nullptr;
  CHECK_CUDA(cudaMalloc(&p, n * sizeof(T)));
  return p;
}

// Fills a device buffer with uniform values in [-scale, scale], as the storage type.
void fill_random(void* dst, size_t n, alto_dtype dtype, float scale, std::mt19937& rng) {
  std::uniform_real_distribution<float> uni(-scale, scale);
  if (dtype != ALTO_BF16) {
    std::vector<float> h(n);
    for (float& v : h) v = uni(rng);
    CHECK_CUDA(cudaMemcpy(dst, h.data(), n * 4, cudaMemcpyHostToDevice));
  } else {
    std::vector<__nv_bfloat16> h(n);
    for (auto& v : h) v = __float2bfloat16_rn(uni(rng));
    CHECK_CUDA(cudaMemcpy(dst, h.data(), n * 2, cudaMemcpyHostToDevice));
  }
}

std::vector<double> fetch(const void* src, size_t n, alto_dtype dtype) {
  std::vector<double> out(n);
  if (dtype != ALTO_BF16) {
    std::vector<float> h(n);
    CHECK_CUDA(cudaMemcpy(h.data(), src, n * 4, cudaMemcpyDeviceToHost));
    std::copy(h.begin(), h.end(), out.begin());
  } else {
    std::vector<__nv_bfloat16> h(n);
    CHECK_CUDA(cudaMemcpy(h.data(), src, n * 2, cudaMemcpyDeviceToHost));
    for (size_t i = 0; i < n; ++i) out[i] = __bfloat162float(h[i]);
  }
  return out;
}

double rel_error(const std::vector<double>& got, const std::vector<double>& ref) {
  double num = 0, den = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    if (!std::isfinite(got[i])) return INFINITY;
    num += (got[i] - ref[i]) * (got[i] - ref[i]);
    den += ref[i] * ref[i];
  }
  return std::sqrt(num / std::max(den, 1e-300));
}

// Median milliseconds per call of f(): warm-up, then `reps` timings of `inner` calls each.
template <typename F>
double time_ms(F&& f, cudaStream_t stream, int inner = 10, int reps = 15) {
  cudaEvent_t start, stop;
  CHECK_CUDA(cudaEventCreate(&start));
  CHECK_CUDA(cudaEventCreate(&stop));
  for (int i = 0; i < 3 * inner; ++i) f();
  std::vector<float> times;
  for (int r = 0; r < reps; ++r) {
    CHECK_CUDA(cudaEventRecord(start, stream));
    for (int i = 0; i < inner; ++i) f();
    CHECK_CUDA(cudaEventRecord(stop, stream));
    CHECK_CUDA(cudaEventSynchronize(stop));
    float ms = 0;
    CHECK_CUDA(cudaEventElapsedTime(&ms, start, stop));
    times.push_back(ms / inner);
  }
  CHECK_CUDA(cudaGetLastError());
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

double copy_bandwidth_gbps(cudaStream_t stream) {
  const size_t bytes = size_t(2) << 30;
  void* a = dalloc<char>(bytes);
  void* b = dalloc<char>(bytes);
  CHECK_CUDA(cudaMemset(a, 1, bytes));
  const double ms = time_ms([&] { CHECK_CUDA(cudaMemcpyAsync(b, a, bytes, cudaMemcpyDeviceToDevice, stream)); }, stream, 5, 11);
  cudaFree(a);
  cudaFree(b);
  return 2.0 * bytes / (ms * 1e-3) / 1e9;  // read + write
}

bool g_profile = false;  // --profile: run ours a few times on one shape (for ncu), no timing

struct Result {
  std::string dtype;
  Shape shape;
  double ours_shrink, ours_expand, ours_fwd, ours_bwd, ours, loop, err_y, err_dx, err_da, err_db, bytes;
};

Result run_shape(const Shape& sh, alto_dtype dtype, alto::cuda::Cublas& blas, cudaStream_t stream, std::mt19937& rng) {
  const int K = sh.adapters, d = sh.d, rows = sh.batch * sh.seq, T = rows * K;
  const int rank_cycle[3] = {16, 32, 64};
  const size_t es = dtype == ALTO_BF16 ? 2 : 4;
  const cudaDataType ct = dtype == ALTO_BF16 ? CUDA_R_16BF : CUDA_R_32F;
  // The loop multiplies as ours does: TF32 inputs for ALTO_F32_TF32, exact fp32 for ALTO_F32.
  const int compute = dtype == ALTO_F32_TF32 ? alto::cuda::Cublas::kComputeF32FastTf32 : alto::cuda::Cublas::kComputeF32;
  auto gemm = [&](bool ta, bool tb, int m, int n, int k, float alpha, const void* a, int lda, const void* b, int ldb, float beta, void* c,
                  cudaDataType tc, int ldc) {
    return blas.gemm_batched(ta, tb, m, n, k, alpha, a, ct, lda, 0, b, ct, ldb, 0, beta, c, tc, ldc, 0, 1, compute);
  };
  std::vector<int32_t> offsets(K + 1), seg_adapter(K), ranks(K);
  std::vector<float> scales(K);
  int max_rank = 0;
  for (int a = 0; a < K; ++a) {
    offsets[a + 1] = offsets[a] + rows;
    seg_adapter[a] = a;
    ranks[a] = rank_cycle[a % 3];
    scales[a] = 2.0f;  // α = 2r
    max_rank = std::max(max_rank, ranks[a]);
  }
  const size_t Td = size_t(T) * d;
  char* X = dalloc<char>(Td * es);
  char* base = dalloc<char>(Td * es);
  char* dY = dalloc<char>(Td * es);
  char* dxb = dalloc<char>(Td * es);
  char* Y = dalloc<char>(Td * es);
  char* dX = dalloc<char>(Td * es);
  fill_random(X, Td, dtype, 1.0f, rng);
  fill_random(base, Td, dtype, 1.0f, rng);
  fill_random(dY, Td, dtype, 1.0f, rng);
  fill_random(dxb, Td, dtype, 1.0f, rng);
  std::vector<void*> A(K), B(K);
  std::vector<float*> dA(K), dB(K), dA_loop(K), dB_loop(K);
  for (int a = 0; a < K; ++a) {
    const size_t n = size_t(d) * ranks[a];
    A[a] = dalloc<char>(n * es);
    B[a] = dalloc<char>(n * es);
    fill_random(A[a], n, dtype, 0.02f, rng);
    fill_random(B[a], n, dtype, 0.02f, rng);
    dA[a] = dalloc<float>(n);
    dB[a] = dalloc<float>(n);
    dA_loop[a] = dalloc<float>(n);
    dB_loop[a] = dalloc<float>(n);
  }
  int32_t* d_off = dalloc<int32_t>(K + 1);
  int32_t* d_seg = dalloc<int32_t>(K);
  int32_t* d_rank = dalloc<int32_t>(K);
  float* d_scale = dalloc<float>(K);
  void** d_A = dalloc<void*>(K);
  void** d_B = dalloc<void*>(K);
  float** d_dA = dalloc<float*>(K);
  float** d_dB = dalloc<float*>(K);
  CHECK_CUDA(cudaMemcpy(d_off, offsets.data(), (K + 1) * 4, cudaMemcpyHostToDevice));
  CHECK_CUDA(cudaMemcpy(d_seg, seg_adapter.data(), K * 4, cudaMemcpyHostToDevice));
  CHECK_CUDA(cudaMemcpy(d_rank, ranks.data(), K * 4, cudaMemcpyHostToDevice));
  CHECK_CUDA(cudaMemcpy(d_scale, scales.data(), K * 4, cudaMemcpyHostToDevice));
  CHECK_CUDA(cudaMemcpy(d_A, A.data(), K * sizeof(void*), cudaMemcpyHostToDevice));
  CHECK_CUDA(cudaMemcpy(d_B, B.data(), K * sizeof(void*), cudaMemcpyHostToDevice));
  CHECK_CUDA(cudaMemcpy(d_dA, dA.data(), K * sizeof(void*), cudaMemcpyHostToDevice));
  CHECK_CUDA(cudaMemcpy(d_dB, dB.data(), K * sizeof(void*), cudaMemcpyHostToDevice));
  alto_segments seg{K, T, d_off, d_seg, K, max_rank, d_rank, d_scale};
  float* S = dalloc<float>(size_t(T) * max_rank);
  const size_t ws_bytes = alto_cuda_backward_workspace(&seg);
  void* ws = dalloc<char>(ws_bytes);
  char* S_loop = dalloc<char>(size_t(T) * max_rank * es);
  char* dS_loop = dalloc<char>(size_t(T) * max_rank * es);

  auto ours_forward = [&] {
    CHECK_ALTO(alto_cuda_shrink(&seg, dtype, X, d, (const void* const*)d_A, S, stream));
    CHECK_ALTO(alto_cuda_expand(&seg, dtype, S, (const void* const*)d_B, d, Y, Y, stream));
  };
  auto ours_backward = [&] {
    CHECK_ALTO(alto_cuda_backward(&seg, dtype, X, d, dY, d, (const void* const*)d_A, (const void* const*)d_B, S, dX, dX, d_dA, d_dB,
                                  ws, ws_bytes, stream));
  };
  // The peer: six GEMMs per adapter (S, Y += s·S·B, dS, dX += dS·Aᵀ, dA, dB).
  auto loop = [&] {
    for (int a = 0; a < K; ++a) {
      const size_t r0 = size_t(offsets[a]);
      const int r = ranks[a];
      const float s = scales[a];
      char* x = X + r0 * d * es;
      char* y = Y + r0 * d * es;
      char* dy = dY + r0 * d * es;
      char* dx = dX + r0 * d * es;
      char* sa = S_loop + r0 * max_rank * es;
      char* dsa = dS_loop + r0 * max_rank * es;
      bool ok = gemm(false, false, rows, r, d, 1.0f, x, d, A[a], r, 0.0f, sa, ct, max_rank) &&
                gemm(false, false, rows, d, r, s, sa, max_rank, B[a], d, 1.0f, y, ct, d) &&
                gemm(false, true, rows, r, d, s, dy, d, B[a], d, 0.0f, dsa, ct, max_rank) &&
                gemm(false, true, rows, d, r, 1.0f, dsa, max_rank, A[a], r, 1.0f, dx, ct, d) &&
                gemm(true, false, d, r, rows, 1.0f, x, d, dsa, max_rank, 0.0f, dA_loop[a], CUDA_R_32F, r) &&
                gemm(true, false, r, d, rows, s, sa, max_rank, dy, d, 0.0f, dB_loop[a], CUDA_R_32F, d);
      if (!ok) {
        std::fprintf(stderr, "cublasGemmEx failed\n");
        std::exit(4);
      }
    }
  };

  if (g_profile) {
    for (int i = 0; i < 3; ++i) {
      ours_forward();
      ours_backward();
    }
    CHECK_CUDA(cudaStreamSynchronize(stream));
    return Result{};
  }
  // Same function: one pass of each from the same inputs.
  Result res{dtype == ALTO_F32 ? "fp32" : dtype == ALTO_BF16 ? "bf16" : "tf32", sh};
  auto reset = [&] {
    CHECK_CUDA(cudaMemcpyAsync(Y, base, Td * es, cudaMemcpyDeviceToDevice, stream));
    CHECK_CUDA(cudaMemcpyAsync(dX, dxb, Td * es, cudaMemcpyDeviceToDevice, stream));
    for (int a = 0; a < K; ++a) {
      CHECK_CUDA(cudaMemsetAsync(dA[a], 0, size_t(d) * ranks[a] * 4, stream));
      CHECK_CUDA(cudaMemsetAsync(dB[a], 0, size_t(d) * ranks[a] * 4, stream));
    }
  };
  reset();
  ours_forward();
  ours_backward();
  CHECK_CUDA(cudaStreamSynchronize(stream));
  const auto y_ours = fetch(Y, Td, dtype), dx_ours = fetch(dX, Td, dtype);
  std::vector<double> da_ours, db_ours, da_loop, db_loop;
  for (int a = 0; a < K; ++a) {
    const size_t n = size_t(d) * ranks[a];
    auto v1 = fetch(dA[a], n, ALTO_F32), v2 = fetch(dB[a], n, ALTO_F32);
    da_ours.insert(da_ours.end(), v1.begin(), v1.end());
    db_ours.insert(db_ours.end(), v2.begin(), v2.end());
  }
  reset();
  loop();
  CHECK_CUDA(cudaStreamSynchronize(stream));
  for (int a = 0; a < K; ++a) {
    const size_t n = size_t(d) * ranks[a];
    auto v1 = fetch(dA_loop[a], n, ALTO_F32), v2 = fetch(dB_loop[a], n, ALTO_F32);
    da_loop.insert(da_loop.end(), v1.begin(), v1.end());
    db_loop.insert(db_loop.end(), v2.begin(), v2.end());
  }
  res.err_y = rel_error(y_ours, fetch(Y, Td, dtype));
  res.err_dx = rel_error(dx_ours, fetch(dX, Td, dtype));
  res.err_da = rel_error(da_ours, da_loop);
  res.err_db = rel_error(db_ours, db_loop);

  res.ours_shrink = time_ms([&] { CHECK_ALTO(alto_cuda_shrink(&seg, dtype, X, d, (const void* const*)d_A, S, stream)); }, stream);
  res.ours_expand = time_ms([&] { CHECK_ALTO(alto_cuda_expand(&seg, dtype, S, (const void* const*)d_B, d, Y, Y, stream)); }, stream);
  res.ours_fwd = time_ms(ours_forward, stream);
  res.ours_bwd = time_ms(ours_backward, stream);
  res.ours = time_ms([&] { ours_forward(); ours_backward(); }, stream);
  res.loop = time_ms(loop, stream, 3, 9);
  res.bytes = 7.0 * double(T) * d * es;

  for (void* p : std::vector<void*>{X, base, dY, dxb, Y, dX, d_off, d_seg, d_rank, d_scale, d_A, d_B, d_dA, d_dB, S, ws, S_loop, dS_loop})
    cudaFree(p);
  for (int a = 0; a < K; ++a) {
    cudaFree(A[a]);
    cudaFree(B[a]);
    cudaFree(dA[a]);
    cudaFree(dB[a]);
    cudaFree(dA_loop[a]);
    cudaFree(dB_loop[a]);
  }
  return res;
}

}  // namespace

int main(int argc, char** argv) {
  if (alto_cuda_device_count() == 0) {
    std::printf("SKIPPED: no CUDA device\n");
    return 0;
  }
  if (argc > 1 && std::string(argv[1]) == "--profile") {  // --profile d adapters batch bf16|tf32|fp32
    g_profile = true;
    cudaStream_t stream;
    CHECK_CUDA(cudaStreamCreate(&stream));
    alto::cuda::Cublas blas;
    std::mt19937 rng(1);
    const Shape sh{std::atoi(argv[2]), std::atoi(argv[3]), std::atoi(argv[4]), 512};
    const std::string t = argv[5];
    run_shape(sh, t == "fp32" ? ALTO_F32 : t == "tf32" ? ALTO_F32_TF32 : ALTO_BF16, blas, stream, rng);
    return 0;
  }
  const char* out_path = argc > 1 ? argv[1] : "cuda_bench.json";
  cudaDeviceProp prop;
  CHECK_CUDA(cudaGetDeviceProperties(&prop, 0));
  cudaStream_t stream;
  CHECK_CUDA(cudaStreamCreate(&stream));
  alto::cuda::Cublas blas;
  if (!blas.open(stream)) {
    std::fprintf(stderr, "%s\n", blas.error().c_str());
    return 5;
  }
  std::mt19937 rng(1234);
  const double copy_gbps = copy_bandwidth_gbps(stream);
  std::printf("device %s, copy bandwidth %.0f GB/s\n", prop.name, copy_gbps);
  std::vector<Shape> shapes;
  for (int b : {1, 2, 4}) shapes.push_back({2048, 32, b, 512});
  for (int b : {1, 2, 4}) shapes.push_back({4096, 8, b, 512});
  std::vector<Result> results;
  // ALTO_BENCH_DTYPES (e.g. "bf16" or "bf16,tf32") limits the run to those storage types.
  const char* only = std::getenv("ALTO_BENCH_DTYPES");
  for (alto_dtype dtype : {ALTO_BF16, ALTO_F32_TF32, ALTO_F32}) {
    const char* name = dtype == ALTO_BF16 ? "bf16" : dtype == ALTO_F32_TF32 ? "tf32" : "fp32";
    if (only && !std::strstr(only, name)) continue;
    for (const Shape& sh : shapes) results.push_back(run_shape(sh, dtype, blas, stream, rng));
  }

  FILE* f = std::fopen(out_path, "w");
  std::fprintf(f, "{\"device\": \"%s\", \"copy_gbps\": %.1f, \"results\": [\n", prop.name, copy_gbps);
  std::printf("%-5s %5s %4s %3s | %8s %8s %8s %8s %8s | %8s %7s | %6s %6s | %s\n", "dtype", "d", "K", "b", "shrink", "expand", "fwd ms", "bwd ms", "ours ms",
              "loop ms", "x loop", "GB/s", "%copy", "max rel diff vs loop");
  for (size_t i = 0; i < results.size(); ++i) {
    const Result& r = results[i];
    const double gbps = r.bytes / (r.ours * 1e-3) / 1e9;
    const double max_err = std::max(std::max(r.err_y, r.err_dx), std::max(r.err_da, r.err_db));
    std::fprintf(f,
                 "  {\"dtype\": \"%s\", \"d_model\": %d, \"adapters\": %d, \"batch\": %d, \"seq\": %d, \"ours_fwd_ms\": %.4f, "
                 "\"ours_shrink_ms\": %.4f, \"ours_expand_ms\": %.4f, \"ours_bwd_ms\": %.4f, \"ours_ms\": %.4f, \"cublas_loop_ms\": %.4f, \"bytes\": %.0f, \"ours_gbps\": %.1f, "
                 "\"rel_diff_y\": %.2e, \"rel_diff_dx\": %.2e, \"rel_diff_da\": %.2e, \"rel_diff_db\": %.2e}%s\n",
                 r.dtype.c_str(), r.shape.d, r.shape.adapters, r.shape.batch, r.shape.seq, r.ours_fwd, r.ours_shrink, r.ours_expand, r.ours_bwd,
                 r.ours, r.loop, r.bytes, gbps, r.err_y, r.err_dx, r.err_da, r.err_db, i + 1 < results.size() ? "," : "");
    std::printf("%-5s %5d %4d %3d | %8.4f %8.4f %8.4f %8.4f %8.4f | %8.4f %6.2fx | %6.0f %5.1f%% | %.1e\n", r.dtype.c_str(), r.shape.d,
                r.shape.adapters, r.shape.batch, r.ours_shrink, r.ours_expand, r.ours_fwd, r.ours_bwd, r.ours, r.loop, r.loop / r.ours, gbps, 100 * gbps / copy_gbps,
                max_err);
  }
  std::fprintf(f, "]}\n");
  std::fclose(f);
  return 0;
}
