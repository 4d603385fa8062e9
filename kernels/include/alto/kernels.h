/*
 * ALTO grouped-LoRA kernels: a plain C ABI over raw pointers.
 *
 * Many adapters share one pass over a batch whose rows are grouped into segments; each
 * segment belongs to one adapter (or to none). For segment g with rows [o_g, o_{g+1}) and
 * adapter a = seg_adapter[g] (rank r_a, scale s_a, A_a: d_in x r_a, B_a: r_a x d_out,
 * all row-major):
 *
 *   shrink    S_g  = X_g · A_a                       (S: T x max_rank, fp32)
 *   expand    Y_g  = base_g + s_a · S_g · B_a        (the add into the base output is fused)
 *   backward  dS_g = s_a · dY_g · B_aᵀ               (dS: T x max_rank, fp32, workspace)
 *             dX_g = dXbase_g + dS_g · A_aᵀ
 *             dA_a += X_gᵀ · dS_g                     (summed over every segment of a)
 *             dB_a += s_a · S_gᵀ · dY_g
 *
 * Rows of segments whose adapter is -1 get no LoRA: Y = base, dX = dXbase, S = dS = 0.
 * Columns j >= r_a of S and dS are written as 0. `base` may equal `Y` and `dx_base` may
 * equal `dX` (in place); either may be NULL (taken as zero: Y = s·S·B and dX = dS·Aᵀ, 0 on
 * rows of no adapter). Weight gradients are accumulated into (+=), in fp32: zero them first
 * for a plain gradient.
 *
 * Worked example (3 segments, 2 adapters, T = 5):
 *   seg_offsets = {0, 2, 2, 5}     rows 0..1 -> segment 0, segment 1 empty, 2..4 -> segment 2
 *   seg_adapter = {1, 0, 1}        adapter 1 owns segments 0 and 2, adapter 0 owns the empty one
 *   ranks = {8, 4}, scales = {2.0f, 4.0f}, max_rank = 8
 *   dA[1] and dB[1] sum contributions of rows 0..1 and 2..4; dA[0], dB[0] get nothing added.
 *
 * Memory: on the CPU every pointer is a host pointer. On CUDA every pointer, including the
 * arrays inside alto_segments and the arrays of weight pointers, is a device pointer;
 * the scalar fields are read on the host to size the launch.
 */
#ifndef ALTO_KERNELS_H
#define ALTO_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
  ALTO_OK = 0,
  ALTO_ERR_INVALID_ARGUMENT = 1, /* a shape, count or pointer is out of range */
  ALTO_ERR_WORKSPACE_TOO_SMALL = 2,
  ALTO_ERR_UNSUPPORTED = 3,      /* e.g. a dtype this build does not provide */
  ALTO_ERR_CUDA = 4              /* a CUDA runtime call or launch failed */
} alto_status;

/* Storage of X, Y, dY, dX and the adapter weights. ALTO_F32_TF32 stores fp32 like ALTO_F32
 * but multiplies on the tensor cores with inputs rounded to TF32 (10-bit mantissa): several
 * times faster, about 1e-3 relative error; ALTO_F32 is exact fp32. CUDA only. */
typedef enum { ALTO_F32 = 0, ALTO_BF16 = 1, ALTO_F32_TF32 = 2 } alto_dtype;

/* The largest rank and adapter count one call accepts. */
#define ALTO_MAX_RANK 256
#define ALTO_MAX_ADAPTERS 256

typedef struct {
  int32_t num_segments;
  int32_t total_rows;          /* T = seg_offsets[num_segments] */
  const int32_t* seg_offsets;  /* num_segments + 1, non-decreasing, from 0 to T */
  const int32_t* seg_adapter;  /* num_segments, in [-1, num_adapters) */
  int32_t num_adapters;
  int32_t max_rank;            /* >= every ranks[a]; the row stride of S and dS */
  const int32_t* ranks;        /* num_adapters, each in [1, ALTO_MAX_RANK] */
  const float* scales;         /* num_adapters */
} alto_segments;

/* A readable message for a status code. */
const char* alto_status_string(alto_status status);

/* ---- CPU, fp32, multi-threaded ---------------------------------------------------- */

/* Checks the scalar fields and every array of a host-side segment description. */
alto_status alto_cpu_validate(const alto_segments* seg);

alto_status alto_cpu_shrink(const alto_segments* seg, const float* X, int32_t d_in,
                            const float* const* A, float* S);

alto_status alto_cpu_expand(const alto_segments* seg, const float* S, const float* const* B,
                            int32_t d_out, const float* base, float* Y);

/* dS = s·dY·Bᵀ and dX = dx_base + dS·Aᵀ; dS is T x max_rank. */
alto_status alto_cpu_backward_data(const alto_segments* seg, const float* dY, int32_t d_out,
                                   const float* const* B, const float* const* A, int32_t d_in,
                                   float* dS, const float* dx_base, float* dX);

/* dA += Xᵀ·dS and dB += s·Sᵀ·dY per adapter. */
alto_status alto_cpu_backward_weights(const alto_segments* seg, const float* X, int32_t d_in,
                                      const float* dY, int32_t d_out, const float* S,
                                      const float* dS, float* const* dA, float* const* dB);

/* n near-normal floats for weight initialisation: draw i of @alto/core's Rng with 32-bit state
 * `state` (the counter before the first draw), u = the draw's 32 bits, out[i] = (sum of u's four
 * bytes − 510) · scale, rounded from double to float (an Irwin–Hall sum: sd 147.8 · scale).
 * Multi-threaded; bit for bit the one-at-a-time loop. */
alto_status alto_cpu_fill_near_normal(float* out, int64_t n, uint32_t state, double scale);
/* n uniform floats: out[i] = lo + (hi − lo) · u_i / 2³² in double, rounded to float, u_i the
 * 32 bits of draw i (as Rng.fillUniform). */
alto_status alto_cpu_fill_uniform(float* out, int64_t n, uint32_t state, double lo, double hi);

/* Threads the CPU kernels use (0: the OpenMP default). */
void alto_cpu_set_threads(int32_t threads);
int32_t alto_cpu_threads(void);

/* ---- CUDA: fp32 or bf16 storage, fp32 accumulation --------------------------------- */

/* 1 when this build includes the CUDA kernels. */
int32_t alto_cuda_compiled(void);
/* Devices visible (0 without a driver or GPU). */
int32_t alto_cuda_device_count(void);

/* Bytes of workspace alto_cuda_backward needs (dS: T x max_rank fp32; bf16 copies of S and dS,
   T x 64 each, for the bf16 weight gradients). */
size_t alto_cuda_backward_workspace(const alto_segments* seg);

/* S = X·A (S fp32). One launch. */
alto_status alto_cuda_shrink(const alto_segments* seg, alto_dtype dtype, const void* X, int32_t d_in,
                             const void* const* A, float* S, void* stream);

/* Y = base + s·S·B. One launch. */
alto_status alto_cuda_expand(const alto_segments* seg, alto_dtype dtype, const float* S,
                             const void* const* B, int32_t d_out, const void* base, void* Y, void* stream);

/* The whole backward: dS (workspace), dX = dx_base + dS·Aᵀ, dA += Xᵀ·dS, dB += s·Sᵀ·dY.
 * dA and dB are fp32 whatever the storage type. One launch per primitive (four). */
alto_status alto_cuda_backward(const alto_segments* seg, alto_dtype dtype, const void* X, int32_t d_in,
                               const void* dY, int32_t d_out, const void* const* A, const void* const* B,
                               const float* S, const void* dx_base, void* dX, float* const* dA,
                               float* const* dB, void* workspace, size_t workspace_bytes, void* stream);

#ifdef __cplusplus
}
#endif

#endif
