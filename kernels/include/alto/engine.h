/*
 * ALTO CUDA engine: the device side of the tfjs CUDA backend, as a plain C ABI.
 *
 * An engine owns one device, one stream, a caching pool of device memory (plain cudaMalloc,
 * never managed memory) and a cuBLAS handle (loaded at run time). Every operation is queued
 * on the engine's stream and returns at once; only alto_engine_download,
 * alto_download_finish and alto_engine_sync wait. Memory freed to the pool is reused by later work on the same
 * stream, so stream order makes reuse safe without events.
 *
 * Element types: ALTO_F32 (float32), ALTO_I32 (int32), ALTO_U8 (bool, 0 or 1). Shapes are
 * row-major; ranks up to ALTO_ENGINE_MAX_RANK. Pointers are device pointers unless named host.
 */
#ifndef ALTO_ENGINE_H
#define ALTO_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "alto/kernels.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ALTO_ENGINE_MAX_RANK 12

typedef enum { ALTO_ELEM_F32 = 0, ALTO_ELEM_I32 = 1, ALTO_ELEM_U8 = 2 } alto_elem;

typedef struct alto_engine alto_engine;

typedef struct {
  uint64_t in_use;       /* bytes handed out and not yet freed */
  uint64_t reserved;     /* bytes held from cudaMalloc (in use + cached) */
  uint64_t allocations;  /* blocks handed out now */
  uint64_t peak_in_use;  /* the most in_use has been since the engine's start or the last reset_peak */
  uint64_t device_free;  /* the device's free memory (cudaMemGetInfo), this pool's cache not counted */
  uint64_t device_total; /* the device's memory */
  uint32_t paged;        /* 1 when large blocks come from memory mapped in chunks (alto_engine_options.paged_memory) */
} alto_engine_memory;

typedef struct {
  /* Large blocks (16 MiB and up) from one range of addresses backed by device memory mapped in
   * chunks, so that free holes between live blocks give their memory to any later block (1,
   * the default where the device supports it), or from separately allocated segments (0). */
  int32_t paged_memory;
} alto_engine_options;

/* Creates an engine on `device` (its own non-blocking stream); `options` may be NULL (defaults). */
alto_status alto_engine_create(int32_t device, const alto_engine_options* options, alto_engine** engine);
void alto_engine_destroy(alto_engine* engine);
/* The engine's stream (a cudaStream_t), for the grouped-LoRA kernels of alto/kernels.h. */
void* alto_engine_stream(alto_engine* engine);
/* A readable reason for the last failure on this engine (empty when none). */
const char* alto_engine_last_error(const alto_engine* engine);

/* ---- memory ---- */
alto_status alto_engine_alloc(alto_engine* e, size_t bytes, void** ptr);
alto_status alto_engine_free(alto_engine* e, void* ptr);
alto_status alto_engine_memory_stats(const alto_engine* e, alto_engine_memory* out);
/* Starts peak_in_use again from the bytes in use now. */
alto_status alto_engine_reset_peak(alto_engine* e);
/* Returns cached blocks to the device (waits for the stream first). */
alto_status alto_engine_trim(alto_engine* e);

/* ---- transfers ---- */
alto_status alto_engine_upload(alto_engine* e, void* dst, const void* host_src, size_t bytes);
/* Waits for the stream, then copies. */
alto_status alto_engine_download(alto_engine* e, void* host_dst, const void* src, size_t bytes);
alto_status alto_engine_copy(alto_engine* e, void* dst, const void* src, size_t bytes);
/* count copies of bytes[i] (whole 4-byte words) from src[i] to dst[i], in one launch. */
alto_status alto_engine_copy_many(alto_engine* e, void* const* dst, const void* const* src, const int64_t* bytes, int64_t count);
alto_status alto_engine_sync(alto_engine* e);
/* Timing marks on the engine's stream (CUDA events), for timing operations without waiting on
 * each: alto_engine_mark records one where the queued work has got to; alto_engine_mark_elapsed
 * waits for `end`, gives the milliseconds of stream time between the two and releases both;
 * alto_engine_mark_release releases a mark not timed. */
alto_status alto_engine_mark(alto_engine* e, void** mark);
alto_status alto_engine_mark_elapsed(alto_engine* e, void* start, void* end, float* ms);
alto_status alto_engine_mark_release(alto_engine* e, void* mark);
/*
 * A read that does not hold the calling thread while the stream catches up. _begin (on the
 * engine's thread) queues a device copy of src on the stream: later work may change or free
 * src. _finish (on any thread) waits for that copy and brings it to host memory over a second
 * stream, so the engine's stream keeps running; _end (on the engine's thread, after _finish)
 * frees the copy. _begin fails where the copy does not fit in device memory: read with
 * alto_engine_download instead. Every download is ended before alto_engine_destroy.
 */
typedef struct alto_download alto_download;
alto_status alto_engine_download_begin(alto_engine* e, const void* src, size_t bytes, alto_download** out);
alto_status alto_download_finish(alto_download* d, void* host_dst);
/* Why _finish failed (empty when it did not). */
const char* alto_download_error(const alto_download* d);
void alto_download_end(alto_download* d);

/* ---- elementwise ---- */
typedef enum {
  ALTO_UN_NEG, ALTO_UN_ABS, ALTO_UN_EXP, ALTO_UN_LOG, ALTO_UN_SQRT, ALTO_UN_RSQRT, ALTO_UN_SQUARE,
  ALTO_UN_RECIPROCAL, ALTO_UN_RELU, ALTO_UN_SIGMOID, ALTO_UN_TANH, ALTO_UN_SIN, ALTO_UN_COS, ALTO_UN_FLOOR,
  ALTO_UN_CEIL, ALTO_UN_ROUND, ALTO_UN_SIGN, ALTO_UN_LOG1P, ALTO_UN_EXPM1, ALTO_UN_ERF, ALTO_UN_SOFTPLUS,
  ALTO_UN_ELU, ALTO_UN_RELU6, ALTO_UN_STEP,   /* step: x > 0 ? 1 : alpha */
  ALTO_UN_LEAKY_RELU,                        /* x >= 0 ? x : alpha·x */
  ALTO_UN_LOGICAL_NOT,                       /* u8 → u8 */
  ALTO_UN_COUNT
} alto_unary_op;

typedef enum {
  ALTO_BIN_ADD, ALTO_BIN_SUB, ALTO_BIN_MUL, ALTO_BIN_DIV, ALTO_BIN_MAX, ALTO_BIN_MIN, ALTO_BIN_POW,
  ALTO_BIN_SQUARED_DIFF, ALTO_BIN_FLOOR_DIV, ALTO_BIN_MOD, ALTO_BIN_ATAN2,
  /* comparisons and logic: the output is u8 */
  ALTO_BIN_EQUAL, ALTO_BIN_NOT_EQUAL, ALTO_BIN_LESS, ALTO_BIN_LESS_EQUAL, ALTO_BIN_GREATER, ALTO_BIN_GREATER_EQUAL,
  ALTO_BIN_LOGICAL_AND, ALTO_BIN_LOGICAL_OR,
  ALTO_BIN_COUNT
} alto_binary_op;

/* out[n] = value, of type `type`. */
alto_status alto_engine_fill(alto_engine* e, alto_elem type, void* out, double value, int64_t n);
/* out[n] uniform in [lo, hi): bit for bit alto_cpu_fill_uniform (and @alto/core's
 * Rng.fillUniform) from the same state, generated on the device. */
alto_status alto_engine_fill_uniform(alto_engine* e, float* out, int64_t n, uint32_t state, double lo, double hi);
/* Zeros n f32 arrays in one launch: ptrs and counts are device arrays of n entries; max_count
 * is the largest count (it sizes the grid). */
alto_status alto_engine_zero_many(alto_engine* e, float* const* ptrs, const int64_t* counts, int32_t n, int64_t max_count);
/* y = op(x) over n elements of `type`: F32 for every op; I32 for NEG, ABS, SQUARE and SIGN;
 * U8 for LOGICAL_NOT. */
alto_status alto_engine_unary(alto_engine* e, alto_unary_op op, alto_elem type, const void* x, void* y, int64_t n, float alpha);
/* out = a op b with broadcasting: out has `shape` (rank dims); a_strides and b_strides are the
 * operands' element strides per output dim (0 where broadcast). `type` is the operands' type
 * (F32 or I32; U8 for the logical ops); comparisons and logic write u8. */
alto_status alto_engine_binary(alto_engine* e, alto_binary_op op, alto_elem type, const void* a, const int64_t* a_strides,
                               const void* b, const int64_t* b_strides, void* out, const int64_t* shape, int32_t rank);
/* y[n] = (to) x[n]. */
alto_status alto_engine_cast(alto_engine* e, alto_elem from, const void* x, alto_elem to, void* y, int64_t n);
/* out = cond ? a : b elementwise (all the same shape; cond u8). */
alto_status alto_engine_select(alto_engine* e, alto_elem type, const uint8_t* cond, const void* a, const void* b, void* out, int64_t n);

/* ---- reductions over the last axis of an [outer, inner] view (f32; sum also i32) ---- */
typedef enum { ALTO_RED_SUM, ALTO_RED_MEAN, ALTO_RED_MAX, ALTO_RED_MIN, ALTO_RED_PROD, ALTO_RED_ARGMAX, ALTO_RED_ARGMIN } alto_reduce_op;
/* ARGMAX/ARGMIN write i32 indices. */
alto_status alto_engine_reduce(alto_engine* e, alto_reduce_op op, alto_elem type, const void* x, void* y, int64_t outer, int64_t inner);

/* ---- layout ---- */
/* y = x transposed by perm (y.shape[i] = shape[perm[i]]); elem_bytes 1, 4 or 8. */
alto_status alto_engine_transpose(alto_engine* e, const void* x, void* y, const int64_t* shape, const int32_t* perm, int32_t rank,
                                  int32_t elem_bytes);

/* Copies a box of `size` elements (per dim) from src to dst: dst[dst_offset + Σ i_d·dst_strides[d]]
 * = src[src_offset + Σ i_d·src_strides[d]] (element strides; a source stride of 0 repeats).
 * Slice, concat, pad, tile and broadcast are all such copies. elem_bytes 1, 4 or 8. */
alto_status alto_engine_copy_box(alto_engine* e, int32_t elem_bytes, const void* src, int64_t src_offset, const int64_t* src_strides,
                                 void* dst, int64_t dst_offset, const int64_t* dst_strides, const int64_t* size, int32_t rank);

/* y[b][o][j][k] = x[b][o][indices[b][j]][k] for a [batch, outer, axis_dim, inner] view of x and
 * [batch, num_indices] indices (i32); an index outside [0, axis_dim) gives zeros. elem_bytes 1 or 4. */
alto_status alto_engine_gather(alto_engine* e, int32_t elem_bytes, const void* x, const int32_t* indices, void* y, int64_t batch,
                               int64_t outer, int64_t axis_dim, int64_t inner, int64_t num_indices);
/* Running sums (or products) along the middle axis of an [outer, n, inner] view (f32 or i32):
 * exclusive leaves out the element itself, reverse runs from the end. */
alto_status alto_engine_scan(alto_engine* e, alto_elem type, int32_t product, const void* x, void* y, int64_t outer, int64_t n,
                             int64_t inner, int32_t exclusive, int32_t reverse);
/* y[s][k] = Σ over rows r with ids[r] = s of x[r][k]; y is [num_segments, inner]; ids outside
 * [0, num_segments) are dropped. f32 or i32. */
alto_status alto_engine_segment_sum(alto_engine* e, alto_elem type, const void* x, const int32_t* ids, void* y, int64_t rows,
                                    int64_t inner, int64_t num_segments);
/* y[i][j] = j == indices[i] ? on : off, y is [n, depth] of `type`. */
alto_status alto_engine_one_hot(alto_engine* e, alto_elem type, const int32_t* indices, void* y, int64_t n, int64_t depth, double on,
                                double off);
/* Softmax (or log-softmax) over the last axis of an [outer, inner] f32 view. */
alto_status alto_engine_softmax(alto_engine* e, const float* x, float* y, int64_t outer, int64_t inner, int32_t log);
/* Token cross-entropy over the last axis of [rows, vocab] f32 logits z with int32 targets t:
 * loss[r] = lse[r] − z[r][t[r]], lse[r] = log Σ_j exp(z[r][j]) (kept for the gradient); a
 * target outside [0, vocab) has no target term. One read of the logits. */
alto_status alto_engine_token_cross_entropy(alto_engine* e, const float* logits, const int32_t* targets, float* loss, float* lse,
                                            int64_t rows, int64_t vocab);
/* Its gradient: dlogits[r][j] = (exp(z[r][j] − lse[r]) − [j = t[r]])·dloss[r] (written; dlogits
 * may be logits, in place). */
alto_status alto_engine_token_cross_entropy_grad(alto_engine* e, const float* logits, const int32_t* targets, const float* lse,
                                                 const float* dloss, float* dlogits, int64_t rows, int64_t vocab);

/* AdamW on `count` f32 tensors in place (params, first and second moments):
 *   m ← m·β1 + g·(1 − β1), v ← v·β2 + g²·(1 − β2), p ← p·decay + (m / (√v · c + ε))·step
 * with scalars = {β1, 1 − β1, β2, 1 − β2, c, ε, decay, step} computed by the caller (AdamW:
 * c = 1/√(1 − β2^t), decay = 1 − lr·wd, step = −lr / (1 − β1^t)), each operation rounded once,
 * as separate f32 ops would. One launch; up to 65,535 tensors. */
alto_status alto_engine_adamw(alto_engine* e, float* const* params, const float* const* grads, float* const* m, float* const* v,
                              const int64_t* sizes, int64_t count, const float* scalars);

/* RMSNorm over the last axis of an [rows, cols] f32 view: y = x · inv · g with
 * inv[r] = 1 / sqrt(mean(x[r]²) + eps), written to inv_rms (rows floats) for the backward.
 * y_bf16 (may be NULL): rows × cols bf16 receiving y rounded to nearest even, as the bf16
 * products round their inputs (see alto_engine_matmul_bf16_a). */
alto_status alto_engine_rms_norm(alto_engine* e, const float* x, const float* g, float* y, float* inv_rms, int64_t rows, int64_t cols,
                                 float eps, void* y_bf16);
/* Its gradient: dx (rows × cols) and dg (cols, overwritten) from dy, x, g and the forward's inv_rms. */
alto_status alto_engine_rms_norm_grad(alto_engine* e, const float* x, const float* g, const float* inv_rms, const float* dy, float* dx,
                                      float* dg, int64_t rows, int64_t cols);

/* LayerNorm over the last axis of an [rows, cols] f32 view: y = (x − mean) · inv · g + b with
 * inv = 1 / sqrt(var + eps); mean and inv_std (rows floats each) kept for the backward. */
alto_status alto_engine_layer_norm(alto_engine* e, const float* x, const float* g, const float* b, float* y, float* mean, float* inv_std,
                                   int64_t rows, int64_t cols, float eps);
/* Its gradient: dx (rows × cols), dg and db (cols each, overwritten). */
alto_status alto_engine_layer_norm_grad(alto_engine* e, const float* x, const float* g, const float* mean, const float* inv_std,
                                        const float* dy, float* dx, float* dg, float* db, int64_t rows, int64_t cols);

/* SwiGLU over n f32 elements: y = gate·σ(gate)·up; y_bf16 (may be NULL): n bf16 receiving y
 * rounded to nearest even, as alto_engine_rms_norm's. */
alto_status alto_engine_swiglu(alto_engine* e, const float* gate, const float* up, float* y, int64_t n, void* y_bf16);
/* Its gradient: dgate = dy·up·σ(g)·(1 + g·(1 − σ(g))), dup = dy·g·σ(g) (written). */
alto_status alto_engine_swiglu_grad(alto_engine* e, const float* gate, const float* up, const float* dy, float* dgate, float* dup, int64_t n);
/* Rotary positions, rotate-half form, over x [outer, seq, head_dim] (head_dim even) with cos
 * and sin [seq, head_dim]: y = x·cos + rotate(x)·sin, rotate([x1, x2]) = [−x2, x1]. backward ≠ 0
 * applies the transpose (x is then dy and y is dx): dx = dy·cos + rotateᵀ(dy·sin). */
alto_status alto_engine_rope(alto_engine* e, int32_t backward, const float* x, const float* cos_t, const float* sin_t, float* y,
                             int64_t outer, int64_t seq, int64_t head_dim);

/* Causal attention with grouped-query heads, f32: o[b][h][i] = Σ_{j ≤ i} softmax_j(scale·q_i·k_j)·v_j
 * with q, o [batch, heads, seq, head_dim] and k, v [batch, kv_heads, seq, head_dim] (query head
 * h reads key head h / (heads / kv_heads)); lse [batch, heads, seq] receives each row's
 * log-sum-exp for the backward. No seq × seq matrix is stored. head_dim ≤ 256. tf32 ≠ 0: the
 * products of head dims 16, 32, …, 128 on the tensor cores with TF32 inputs (exact fp32 else). */
alto_status alto_engine_attention(alto_engine* e, const float* q, const float* k, const float* v, float* o, float* lse, int64_t batch,
                                  int64_t heads, int64_t kv_heads, int64_t seq, int64_t head_dim, float scale, int32_t tf32);
/* Its gradient: dq, dk, dv (written) from dO and the forward's o and lse. */
alto_status alto_engine_attention_grad(alto_engine* e, const float* q, const float* k, const float* v, const float* o, const float* lse,
                                       const float* dO, float* dq, float* dk, float* dv, int64_t batch, int64_t heads, int64_t kv_heads,
                                       int64_t seq, int64_t head_dim, float scale, int32_t tf32);

/* ---- matrix products (f32 in and out, fp32 accumulation) ---- */
typedef enum {
  ALTO_MATMUL_FP32 = 0, /* exact fp32 products */
  ALTO_MATMUL_TF32 = 1, /* inputs rounded to TF32 on the tensor cores */
  ALTO_MATMUL_BF16 = 2  /* inputs rounded to bf16 on the tensor cores */
} alto_matmul_precision;
/* C[b] = op(A[b])·op(B[b]) for b < batch, row-major; op(A) is m×k, op(B) is k×n. A batch
 * stride of 0 reuses one matrix for every b (broadcast). */
alto_status alto_engine_matmul(alto_engine* e, alto_matmul_precision precision, int64_t batch, int64_t m, int64_t n, int64_t k,
                               const float* A, int64_t stride_a, int32_t trans_a, const float* B, int64_t stride_b, int32_t trans_b,
                               float* C);
/* As alto_engine_matmul, adding into C: C[b] += op(A[b])·op(B[b]). The read of C happens in the
 * product's own epilogue, where a compute-bound product hides it, instead of in a separate pass. */
alto_status alto_engine_matmul_add(alto_engine* e, alto_matmul_precision precision, int64_t batch, int64_t m, int64_t n, int64_t k,
                                   const float* A, int64_t stride_a, int32_t trans_a, const float* B, int64_t stride_b, int32_t trans_b,
                                   float* C);
/* As alto_engine_matmul (add = 0) or alto_engine_matmul_add (add ≠ 0) with ALTO_MATMUL_BF16, A
 * given as its bf16 copy (the f32 elements rounded to nearest even, A's layout and strides), so
 * that a matrix several products read is rounded once, by the kernel that wrote it. */
alto_status alto_engine_matmul_bf16_a(alto_engine* e, int64_t batch, int64_t m, int64_t n, int64_t k, const void* A_bf16, int64_t stride_a,
                                      int32_t trans_a, const float* B, int64_t stride_b, int32_t trans_b, float* C, int32_t add);

#ifdef __cplusplus
}
#endif

#endif /* ALTO_ENGINE_H */
