import * as tf from '@tensorflow/tfjs-core';
import { ANY_BACKEND, KernelRegistry, SegmentPlan, validateSegmentPlan } from '@alto/core';
import { ensureReferenceKernels, GROUPED_LORA_REFERENCE, GROUPED_LORA_REFERENCE_GRAD } from '../kernels/grouped-lora-reference.js';
import { planToAttrs } from '../kernels/plan-attrs.js';
import { ensureBatchedKernels, GROUPED_LORA_BATCHED, GROUPED_LORA_BATCHED_GRAD } from '../kernels/grouped-lora-batched.js';
import { ensureNativeKernels, GROUPED_LORA_NATIVE, GROUPED_LORA_NATIVE_GRAD, NATIVE_BACKENDS } from '../kernels/grouped-lora-native.js';
import { loadNativeKernels } from '@alto/kernels';
import {
  cudaKernelsAvailable, ensureCudaKernels, GROUPED_LORA_CUDA, GROUPED_LORA_CUDA_GRAD, GROUPED_LORA_LINEAR_CUDA, GROUPED_LORA_LINEAR_CUDA_GRAD,
} from '../kernels/grouped-lora-cuda.js';
import { CUDA_BACKEND_NAME } from '../kernels/host-backends.js';

/**
 * A grouped-LoRA implementation: a pair of tfjs kernels (forward, backward) registered
 * under their own names. `ensure(backend)` registers them for a backend on first use.
 * The forward kernel takes [x, base, A0…, B0…] and returns base + LoRA; the backward takes
 * [x, dy, A0…, B0…] and returns [dX, dA0…, dB0…]. A provider that `keepsShrink` returns
 * [base + LoRA, S] forward (S = x·A, T × max rank) and takes S last in the backward's inputs,
 * so the backward does not read x again for it. A provider that `addsBaseGradient` takes one
 * more backward input after S, the base layer's dX, and returns dX plus the LoRA's (one pass
 * over dX instead of a separate sum): groupedLoraLinear uses it. A provider with `linear` kernels
 * takes W itself ([x, W, A…, B…] → [y, S]; backward [x, dy, W, A…, B…, S] → [dX, dA…, dB…]) and
 * makes x·W and dy·Wᵀ inside them; groupedLoraLinear prefers those.
 */
export interface GroupedLoraProvider {
  forward: string;
  backward: string;
  keepsShrink?: boolean;
  addsBaseGradient?: boolean;
  linear?: { forward: string; backward: string };
  ensure(backendName: string): void;
}

export interface TfjsKernels {
  [name: string]: unknown;
  groupedLora: GroupedLoraProvider;
}

/** Kernels of @alto/tfjs by (kernel name, backend); the reference serves every backend. */
export const tfjsKernels = new KernelRegistry<TfjsKernels>();

/** Registers a grouped-LoRA provider for a backend; returns the function that removes it. */
export function registerGroupedLora(backend: string, provider: GroupedLoraProvider, options: { priority?: number; name?: string } = {}): () => void {
  return tfjsKernels.register('groupedLora', backend, provider, { priority: options.priority ?? 10, provider: options.name ?? provider.forward });
}

/** The per-adapter loop: the reference every other kernel is compared with. */
export const REFERENCE_PROVIDER: GroupedLoraProvider = { forward: GROUPED_LORA_REFERENCE, backward: GROUPED_LORA_REFERENCE_GRAD, ensure: ensureReferenceKernels };
/** Batched matmuls over rank-padded weights: O(1) kernel calls per layer, the default. */
export const BATCHED_PROVIDER: GroupedLoraProvider = { forward: GROUPED_LORA_BATCHED, backward: GROUPED_LORA_BATCHED_GRAD, ensure: ensureBatchedKernels };
registerGroupedLora(ANY_BACKEND, REFERENCE_PROVIDER, { priority: 0, name: 'reference' });
registerGroupedLora(ANY_BACKEND, BATCHED_PROVIDER, { priority: 1, name: 'batched' });
// On wasm and cpu, 2-D matmuls per adapter over directly copied row blocks run 6–9× faster
// than the same work as one batched matmul (bench/tfjs-matmul), so the loop is their fallback.
for (const backend of ['wasm', 'cpu']) registerGroupedLora(backend, REFERENCE_PROVIDER, { priority: 2, name: 'per-adapter loop' });

/** The native kernels of @alto/kernels, on the backends whose buffers they read in place. */
export const NATIVE_PROVIDER: GroupedLoraProvider = {
  forward: GROUPED_LORA_NATIVE,
  backward: GROUPED_LORA_NATIVE_GRAD,
  ensure: (backend) => {
    if (!ensureNativeKernels(backend)) throw new Error(`the native grouped-LoRA kernels cannot serve backend "${backend}"`);
  },
};
const nativeLoad = loadNativeKernels();
if (nativeLoad.ok) for (const backend of NATIVE_BACKENDS) registerGroupedLora(backend, NATIVE_PROVIDER, { priority: 5, name: 'native' });

/** The CUDA kernels of @alto/kernels on the tfjs CUDA backend's device tensors. */
export const CUDA_PROVIDER: GroupedLoraProvider = {
  forward: GROUPED_LORA_CUDA,
  backward: GROUPED_LORA_CUDA_GRAD,
  keepsShrink: true,
  addsBaseGradient: true,
  linear: { forward: GROUPED_LORA_LINEAR_CUDA, backward: GROUPED_LORA_LINEAR_CUDA_GRAD },
  ensure: (backend) => {
    if (!ensureCudaKernels(backend)) throw new Error(`the CUDA grouped-LoRA kernels cannot serve backend "${backend}"`);
  },
};
if (cudaKernelsAvailable()) registerGroupedLora(CUDA_BACKEND_NAME, CUDA_PROVIDER, { priority: 5, name: 'cuda' });

let fallbackReported = false;
/** Says once, on first use of a backend the native kernels would serve, why they do not. */
function reportFallback(backend: string): void {
  if (fallbackReported || nativeLoad.ok || !NATIVE_BACKENDS.includes(backend)) return;
  fallbackReported = true;
  console.warn(`@alto/tfjs: ${nativeLoad.reason}. Using the tfjs per-adapter kernels meanwhile.`);
}

/**
 * y = base + s_a·(x_s·A_a)·B_a for every segment s of the plan (a = its adapter); rows of
 * no adapter keep `base`. x: T×d_in, base: T×d_out, A[a]: d_in×r_a, B[a]: r_a×d_out.
 * Differentiable in x, base, A and B. The kernel is the best one registered for the
 * current backend, unless `provider` names one.
 */
export function groupedLora(x: tf.Tensor2D, base: tf.Tensor2D, A: readonly tf.Tensor2D[], B: readonly tf.Tensor2D[], plan: SegmentPlan, provider?: GroupedLoraProvider): tf.Tensor2D {
  if (x.rank !== 2 || base.rank !== 2 || base.shape[0] !== x.shape[0]) {
    throw new RangeError(`groupedLora: x and base must be 2-D with the same rows, got [${x.shape}] and [${base.shape}]`);
  }
  checkShapes(x, base.shape[1], A, B, plan);
  return groupedOp(x, { base }, A, B, plan, chooseProvider(provider));
}

/**
 * y = x·W + grouped LoRA (as groupedLora with base = x·W). Where the provider adds the base's
 * gradient (the CUDA kernels), the backward computes dy·Wᵀ and the LoRA kernels add their dX
 * into it as they write it, instead of a separate dX and a sum of the two; W is then taken as
 * a constant of the step (the frozen base weight it is in ALTO): a trainable variable W takes
 * the plain path, which differentiates it. Differentiable in x, A and B.
 */
export function groupedLoraLinear(x: tf.Tensor2D, W: tf.Tensor2D, A: readonly tf.Tensor2D[], B: readonly tf.Tensor2D[], plan: SegmentPlan, provider?: GroupedLoraProvider): tf.Tensor2D {
  if (W.rank !== 2 || W.shape[0] !== x.shape[1]) throw new RangeError(`groupedLoraLinear: W must be [${x.shape[1]}, d_out] (d_in of x first), got [${W.shape}]`);
  checkShapes(x, W.shape[1], A, B, plan);
  const chosen = chooseProvider(provider);
  if (!(chosen.addsBaseGradient || chosen.linear) || (W instanceof tf.Variable && W.trainable)) return tf.tidy(() => groupedOp(x, { base: tf.matMul(x, W) }, A, B, plan, chosen));
  return groupedOp(x, { W }, A, B, plan, chosen);
}

function chooseProvider(provider?: GroupedLoraProvider): GroupedLoraProvider {
  const backend = tf.getBackend();
  if (!provider) reportFallback(backend);
  const chosen = provider ?? tfjsKernels.resolve('groupedLora', backend).impl;
  chosen.ensure(backend);
  return chosen;
}

// The op over [x, base, A…, B…] (given base), or over [x, A…, B…] with base = x·W made inside
// and dy·Wᵀ handed to the backward kernel (given W, on a provider that adds it).
function groupedOp(x: tf.Tensor2D, of: { base: tf.Tensor2D } | { W: tf.Tensor2D }, A: readonly tf.Tensor2D[], B: readonly tf.Tensor2D[], plan: SegmentPlan, chosen: GroupedLoraProvider): tf.Tensor2D {
  const attrs = planToAttrs(plan) as unknown as tf.NamedAttrMap;
  const run = (kernel: string, inputs: tf.Tensor[]) => tf.engine().runKernel(kernel, inputs as unknown as tf.NamedTensorMap, attrs);
  const W = 'W' in of ? of.W : null, givenBase = 'base' in of ? of.base : null;
  const lead = W ? 1 : 2;  // inputs before the weights: x (and base)
  // A custom gradient rather than one registered for the kernel: the gradient needs x and the
  // weights, not `base`, and saving base would keep every projection's base output alive
  // until the backward (a registered gradient of a kernel with a list of inputs saves all).
  // Weights that are variables (the trainer's adapters) stay alive and unchanged until the
  // optimizer runs after the backward: the gradient reads them directly rather than through
  // saved copies (tfjs clones each saved tensor: 2 per adapter per layer per step). Other
  // weight tensors are saved, since a scope may dispose them before the backward; so is a W
  // that is not a variable.
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args.pop() as tf.GradSaveFunc;
    const inputs = args as tf.Tensor[];
    const weights = inputs.slice(lead);
    const keep = weights.map((w) => !(w instanceof tf.Variable));
    const keepW = W !== null && !(W instanceof tf.Variable);
    const linear = W && chosen.linear ? chosen.linear : null;
    const base = W && !linear ? tf.matMul(inputs[0], W) : null;
    const kernelInputs = linear ? [inputs[0], W!, ...weights] : base ? [inputs[0], base, ...weights] : inputs;
    let value: tf.Tensor2D;
    let S: tf.Tensor | null = null;
    if (chosen.keepsShrink || linear) {
      const out = run(linear ? linear.forward : chosen.forward, kernelInputs) as tf.Tensor[];
      value = out[0] as tf.Tensor2D;
      S = out[1];
    } else {
      value = run(chosen.forward, kernelInputs) as tf.Tensor2D;
    }
    base?.dispose();
    save([inputs[0], ...weights.filter((_, i) => keep[i]), ...(S ? [S] : []), ...(keepW ? [W!] : [])]);
    S?.dispose();  // the saved copy lives on until the backward
    return {
      value,
      gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) => {
        let next = 1;
        const w = weights.map((t, i) => (keep[i] ? saved[next++] : t));
        const rest = saved.slice(next, S ? next + 1 : next);  // S, where kept
        if (linear) {
          const [dX, ...dW] = run(linear.backward, [saved[0], dy, keepW ? saved[saved.length - 1] : W!, ...w, ...rest]) as tf.Tensor[];
          return [dX, ...dW];
        }
        if (W) {
          const dxBase = tf.matMul(dy, keepW ? saved[saved.length - 1] : W, false, true);
          const [dX, ...dW] = run(chosen.backward, [saved[0], dy, ...w, ...rest, dxBase]) as tf.Tensor[];
          dxBase.dispose();
          return [dX, ...dW];
        }
        // One backward launch gives dX and every adapter's dA and dB.
        const [dX, ...dW] = run(chosen.backward, [saved[0], dy, ...w, ...rest]) as tf.Tensor[];
        return [dX, dy, ...dW];
      },
    };
  });
  return givenBase ? op(x, givenBase, ...A, ...B) : op(x, ...A, ...B);
}

function checkShapes(x: tf.Tensor, dOut: number, A: readonly tf.Tensor[], B: readonly tf.Tensor[], plan: SegmentPlan): void {
  validateSegmentPlan(plan);
  const fail = (msg: string) => {
    throw new RangeError(`groupedLora: ${msg}`);
  };
  if (x.rank !== 2) fail(`x must be 2-D, got [${x.shape}]`);
  const [T, dIn] = x.shape;
  if (plan.totalRows !== T) fail(`the plan covers ${plan.totalRows} rows, x has ${T}`);
  const K = plan.adapters.length;
  if (A.length !== K || B.length !== K) fail(`the plan has ${K} adapters, got ${A.length} A and ${B.length} B tensors`);
  for (let i = 0; i < K; i++) {
    const r = plan.adapters[i].rank;
    if (A[i].rank !== 2 || A[i].shape[0] !== dIn || A[i].shape[1] !== r) fail(`A[${i}] must be [${dIn}, ${r}], got [${A[i].shape}]`);
    if (B[i].rank !== 2 || B[i].shape[0] !== r || B[i].shape[1] !== dOut) fail(`B[${i}] must be [${r}, ${dOut}], got [${B[i].shape}]`);
  }
  if (x.dtype !== 'float32') fail(`x must be float32, got ${x.dtype}`);
}
