import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** A segment plan as the addon reads it (in place, no copies). */
export interface NativePlan {
  segmentOffsets: Int32Array;
  segmentAdapter: Int32Array;
  ranks: Int32Array;
  scales: Float32Array;
  maxRank: number;
}

/**
 * The CUDA engine of the tfjs CUDA backend (kernels/include/alto/engine.h): one device, one
 * stream, a caching memory pool. Device pointers are numbers; every call is queued on the
 * stream except `download` and `sync`, which wait (`downloadAsync` waits on a worker thread). Enum arguments are the C enums' values
 * (see `engine-enums.ts`). Present only in CUDA builds.
 */
export interface CudaEngineOptions {
  /**
   * Blocks of 16 MiB and up from one range of addresses backed by device memory mapped in
   * chunks, so that free holes between live blocks give their memory to any later block (default
   * true; used where the device supports it), or from separately allocated segments (false).
   */
  pagedMemory?: boolean;
}

export interface CudaEngine {
  alloc(bytes: number): number;
  free(ptr: number): void;
  /**
   * Bytes in use, held (in use + cached), blocks; the most in use since the last resetPeak; the
   * device's free (cache not counted) and total memory; whether large blocks come from memory
   * mapped in chunks (CudaEngineOptions.pagedMemory, where the device supports it).
   */
  memory(): { inUse: number; reserved: number; allocations: number; peakInUse: number; deviceFree: number; deviceTotal: number; paged: boolean };
  resetPeak(): void;
  trim(): void;
  /** A timing mark on the stream (an opaque handle); markElapsed waits for `end` and gives the ms of stream time between two marks, releasing both; markRelease frees one not timed. */
  mark(): number;
  markElapsed(start: number, end: number): number;
  markRelease(mark: number): void;
  upload(ptr: number, host: ArrayBufferView): void;
  download(ptr: number, host: ArrayBufferView): void;
  /**
   * The same read without waiting: the device bytes are copied now, in stream order (later work
   * may change or free them), and `host` is filled by a worker thread while this thread goes
   * on. Throws at once where that copy does not fit in device memory (use `download`).
   */
  downloadAsync(ptr: number, host: ArrayBufferView): Promise<void>;
  copy(dst: number, src: number, bytes: number): void;
  sync(): void;
  fill(elem: number, ptr: number, value: number, n: number): void;
  /** f32 values in [lo, hi), bit for bit Rng.fillUniform from `state` (a uint32), made on the device. */
  fillUniform(ptr: number, n: number, state: number, lo: number, hi: number): void;
  unary(op: number, elem: number, x: number, y: number, n: number, alpha: number): void;
  binary(op: number, elem: number, a: number, aStrides: number[], b: number, bStrides: number[], out: number, shape: number[]): void;
  cast(from: number, x: number, to: number, y: number, n: number): void;
  select(elem: number, cond: number, a: number, b: number, out: number, n: number): void;
  reduce(op: number, elem: number, x: number, y: number, outer: number, inner: number): void;
  transpose(x: number, y: number, shape: number[], perm: number[], elemBytes: number): void;
  /**
   * c = op(a)·op(b), batched; with `add`, c += op(a)·op(b) (the product's epilogue reads c).
   * aBf16 (bf16 precision only; 0 or absent: none): a's bf16 copy, used instead of rounding a again.
   */
  matmul(precision: number, batch: number, m: number, n: number, k: number, a: number, strideA: number, transA: boolean, b: number, strideB: number, transB: boolean, c: number, add?: boolean, aBf16?: number): void;
  copyBox(elemBytes: number, src: number, srcOffset: number, srcStrides: number[], dst: number, dstOffset: number, dstStrides: number[], size: number[]): void;
  gather(elemBytes: number, x: number, indices: number, y: number, batch: number, outer: number, axisDim: number, inner: number, numIndices: number): void;
  scan(elem: number, product: boolean, x: number, y: number, outer: number, n: number, inner: number, exclusive: boolean, reverse: boolean): void;
  segmentSum(elem: number, x: number, ids: number, y: number, rows: number, inner: number, numSegments: number): void;
  oneHot(elem: number, indices: number, y: number, n: number, depth: number, on: number, off: number): void;
  softmax(x: number, y: number, outer: number, inner: number, log: boolean): void;
  /** loss[r] = lse[r] − z[r][t[r]] over [rows, vocab] logits and int32 targets (none outside [0, vocab)); lse kept for the gradient. */
  tokenCrossEntropy(logits: number, targets: number, loss: number, lse: number, rows: number, vocab: number): void;
  /** Its gradient: dlogits = (softmax(z) − onehot(t))·dloss (written). */
  tokenCrossEntropyGrad(logits: number, targets: number, lse: number, dloss: number, dlogits: number, rows: number, vocab: number): void;
  /**
   * RMSNorm over the last axis of [rows, cols]: y = x·inv·g, inv = 1/sqrt(mean(x²) + eps) kept in invRms (rows floats).
   * yBf16 (0 or absent: none): rows × cols bf16 receiving y rounded to nearest even, for matmul's aBf16.
   */
  rmsNorm(x: number, g: number, y: number, invRms: number, rows: number, cols: number, eps: number, yBf16?: number): void;
  /** LayerNorm over the last axis of [rows, cols]: y = (x − mean)·invStd·g + b; mean and invStd (rows floats each) kept. */
  layerNorm(x: number, g: number, b: number, y: number, mean: number, invStd: number, rows: number, cols: number, eps: number): void;
  /** Its gradient: dx, dg and db (overwritten) from dy, x, g and the forward's mean and invStd. */
  layerNormGrad(x: number, g: number, mean: number, invStd: number, dy: number, dx: number, dg: number, db: number, rows: number, cols: number): void;
  /**
   * Causal attention, q/o [B, H, T, dh], k/v [B, KV, T, dh] (query head h reads key head h/(H/KV)); lse [B, H, T] kept for the
   * gradient. tf32: the products on the tensor cores with TF32 inputs (head dims 16, 32, …, 128; exact fp32 otherwise).
   */
  attention(q: number, k: number, v: number, o: number, lse: number, batch: number, heads: number, kvHeads: number, seq: number, headDim: number, scale: number, tf32?: boolean): void;
  /** Its gradient: dq, dk, dv (written) from dO and the forward's o and lse. */
  attentionGrad(q: number, k: number, v: number, o: number, lse: number, dO: number, dq: number, dk: number, dv: number, batch: number, heads: number, kvHeads: number, seq: number, headDim: number, scale: number, tf32?: boolean): void;
  /** y = gate·σ(gate)·up over n floats; yBf16 (0 or absent: none) receives y rounded to bf16, as rmsNorm's. */
  swiglu(gate: number, up: number, y: number, n: number, yBf16?: number): void;
  /** Its gradient: dgate and dup (written) from gate, up and dy. */
  swigluGrad(gate: number, up: number, dy: number, dgate: number, dup: number, n: number): void;
  /**
   * Rotary positions (rotate-half) over x [outer, seq, headDim] with cos and sin [seq, headDim]:
   * y = x·cos + rotate(x)·sin; backward: x is dy, y is dx, and the map is transposed.
   */
  rope(backward: boolean, x: number, cos: number, sin: number, y: number, outer: number, seq: number, headDim: number): void;
  /** Its gradient: dx and dg (overwritten) from dy, x, g and the forward's invRms. */
  rmsNormGrad(x: number, g: number, invRms: number, dy: number, dx: number, dg: number, rows: number, cols: number): void;
  /**
   * y = base + s·(x·A)·B per segment (fp32 device tensors; y may be base). tf32: products on
   * the tensor cores with inputs rounded to TF32 (default false: exact fp32). S: a T × maxRank
   * f32 buffer that receives x·A for the backward (0 or absent: not kept).
   */
  loraForward(plan: NativePlan, x: number, dIn: number, A: number[], B: number[], base: number, y: number, dOut: number, tf32?: boolean, S?: number): void;
  /**
   * dx = dxBase + dS·Aᵀ, dA = xᵀ·dS, dB = s·Sᵀ·dy with S = x·A and dS = s·dy·Bᵀ (all written, none
   * added to; dxBase 0 or absent: none, and it may be dx itself).
   */
  loraBackward(plan: NativePlan, x: number, dIn: number, dy: number, dOut: number, A: number[], B: number[], dx: number, dA: number[], dB: number[], tf32?: boolean, S?: number, dxBase?: number): void;
  /**
   * AdamW in place on f32 tensors (one entry per tensor in each list): m ← m·β1 + g·(1 − β1),
   * v ← v·β2 + g²·(1 − β2), p ← p·decay + (m / (√v·c + ε))·step, scalars [β1, 1 − β1, β2, 1 − β2, c, ε, decay, step].
   */
  adamw(params: number[], grads: number[], m: number[], v: number[], sizes: number[], scalars: number[]): void;
  /** Copies bytes[i] (whole 4-byte words) from src[i] to dst[i] for every i, in one launch. */
  copyMany(dst: number[], src: number[], bytes: number[]): void;
  destroy(): void;
}

/** The addon's functions. Shapes are row-major; see kernels/include/alto/kernels.h. */
export interface NativeKernels {
  /** y = base + s·(x·A)·B per segment; y may be base, base null is zero. x: T×dIn, base and y: T×dOut. */
  cpuForward(plan: NativePlan, x: Float32Array, dIn: number, A: Float32Array[], B: Float32Array[], base: Float32Array | null, y: Float32Array, dOut: number): void;
  /** dx = dS·Aᵀ (written), dA += xᵀ·dS, dB += s·Sᵀ·dy (added to), with S = x·A, dS = s·dy·Bᵀ. */
  cpuBackward(plan: NativePlan, x: Float32Array, dIn: number, dy: Float32Array, dOut: number, A: Float32Array[], B: Float32Array[], dx: Float32Array, dA: Float32Array[], dB: Float32Array[]): void;
  /** Sets the CPU kernels' thread count (0: one per core); returns the count in effect. */
  cpuSetThreads(threads: number): number;
  cpuThreads(): number;
  /**
   * Fills `out` with near-normal values for weight initialisation, multi-threaded: what
   * @alto/core's Rng with 32-bit state `state` gives draw by draw (u = a draw's 32 bits,
   * (sum of u's four bytes − 510) · scale), bit for bit. Rng.fillNearNormal uses it.
   */
  cpuFillNearNormal(out: Float32Array, state: number, scale: number): void;
  /** Uniform values in [lo, hi), bit for bit @alto/core's Rng.fillUniform from state `state`, multi-threaded. */
  cpuFillUniform(out: Float32Array, state: number, lo: number, hi: number): void;
  /** Whether this build includes the CUDA kernels. */
  readonly cudaCompiled: boolean;
  cudaDeviceCount(): number;
  /** The CUDA engine class (CUDA builds only): `new CudaEngine(device, options?)`. */
  readonly CudaEngine?: new (device: number, options?: CudaEngineOptions) => CudaEngine;
}

export type NativeLoad = { ok: true; kernels: NativeKernels; path: string } | { ok: false; reason: string };

/** Loads the addon from this path instead of the package's build folder. */
export const NATIVE_ADDON_ENV = 'ALTO_KERNELS_ADDON';
/** Set to 1 to run without the addon (e.g. to measure the fallback). */
export const NATIVE_OFF_ENV = 'ALTO_NATIVE_OFF';

let cached: NativeLoad | undefined;

/** The addon, or why it is unavailable (with what to do about it). Loaded once. */
export function loadNativeKernels(): NativeLoad {
  if (cached) return cached;
  if (process.env[NATIVE_OFF_ENV] === '1') return (cached = { ok: false, reason: `the native kernels are off (${NATIVE_OFF_ENV}=1)` });
  const path = process.env[NATIVE_ADDON_ENV] ?? fileURLToPath(new URL('../build/Release/alto_kernels.node', import.meta.url));
  const build = 'build them with "pnpm -F @alto/kernels build:native" (needs cmake ≥ 3.20 and a C++17 compiler with OpenMP; nvcc adds CUDA)';
  if (!existsSync(path)) return (cached = { ok: false, reason: `the native kernels are not built (no ${path}): ${build}` });
  try {
    // process.dlopen loads the addon the same way from ESM, CommonJS and bundles.
    const addon = { exports: {} as NativeKernels };
    process.dlopen(addon, path);
    const kernels = addon.exports;
    return (cached = { ok: true, kernels, path });
  } catch (e) {
    return (cached = { ok: false, reason: `the native kernels at ${path} failed to load (${(e as Error).message.split('\n')[0]}): ${build}` });
  }
}

/** The addon's view of a plan: typed arrays of offsets, owners, ranks and scales. */
export function nativePlan(plan: {
  segmentOffsets: ArrayLike<number>;
  segmentAdapter: ArrayLike<number>;
  ranks: ArrayLike<number>;
  scales: ArrayLike<number>;
}): NativePlan {
  const ranks = Int32Array.from(plan.ranks);
  return {
    segmentOffsets: Int32Array.from(plan.segmentOffsets),
    segmentAdapter: Int32Array.from(plan.segmentAdapter),
    ranks,
    scales: Float32Array.from(plan.scales),
    maxRank: ranks.reduce((m, r) => Math.max(m, r), 1),
  };
}
