import * as tf from '@tensorflow/tfjs-core';
import { ANY_BACKEND, KernelRegistry, SegmentPlan, validateSegmentPlan } from '@alto/core';
import { ensureReferenceKernels, GROUPED_LORA_REFERENCE, GROUPED_LORA_REFERENCE_GRAD } from '../kernels/grouped-lora-reference.js';
import { adapterInputName, planToAttrs } from '../kernels/plan-attrs.js';
import { ensureBatchedKernels, GROUPED_LORA_BATCHED, GROUPED_LORA_BATCHED_GRAD } from '../kernels/grouped-lora-batched.js';
import { ensureNativeKernels, GROUPED_LORA_NATIVE, GROUPED_LORA_NATIVE_GRAD, NATIVE_BACKENDS } from '../kernels/grouped-lora-native.js';
import { loadNativeKernels } from '@alto/kernels';
import { cudaKernelsAvailable, ensureCudaKernels, GROUPED_LORA_CUDA, GROUPED_LORA_CUDA_GRAD } from '../kernels/grouped-lora-cuda.js';
import { CUDA_BACKEND_NAME } from '../kernels/host-backends.js';

/**
 * A grouped-LoRA implementation: a pair of tfjs kernels (forward, backward) registered
 * under their own names. `ensure(backend)` registers them for a backend on first use.
 * The forward kernel takes [x, base, A0…, B0…] and returns base + LoRA; the backward takes
 * [x, dy, A0…, B0…] and returns [dX, dA0…, dB0…].
 */
export interface GroupedLoraProvider {
  forward: string;
  backward: string;
  ensure(backendName: string): void;
}

export interface TfjsKernels {
  [name: string]: unknown;
  groupedLora: GroupedLoraProvider;
}

/** Kernels of @alto/tfjs by (kernel name, backend); the reference serves every backend. */
export const tfjsKernels = new KernelRegistry<TfjsKernels>();

const withGradient = new Set<string>();

/** Registers a grouped-LoRA provider for a backend; returns the function that removes it. */
export function registerGroupedLora(backend: string, provider: GroupedLoraProvider, options: { priority?: number; name?: string } = {}): () => void {
  if (!withGradient.has(provider.forward)) {
    tf.registerGradient({
      kernelName: provider.forward,
      saveAllInputs: true,
      gradFunc: (dy, saved, attrs) => groupedLoraGradient(dy as tf.Tensor2D, saved as tf.Tensor2D[], attrs as tf.NamedAttrMap),
    });
    withGradient.add(provider.forward);
  }
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

function groupedLoraGradient(dy: tf.Tensor2D, saved: tf.Tensor2D[], attrs: tf.NamedAttrMap): Record<string, () => tf.Tensor> {
  const [x, , ...weights] = saved;
  const K = weights.length / 2;
  const inputs = [x, dy, ...weights] as unknown as tf.NamedTensorMap;
  // All gradients come from one backward launch; the engine asks for them one by one.
  const [dX, ...dW] = tf.engine().runKernel(attrs.backwardKernel as string, inputs, attrs) as tf.Tensor[];
  const grads: Record<string, () => tf.Tensor> = { 0: () => dX, 1: () => dy };
  for (let i = 0; i < K; i++) {
    grads[adapterInputName('A', i, K)] = () => dW[i];
    grads[adapterInputName('B', i, K)] = () => dW[K + i];
  }
  return grads;
}

/**
 * y = base + s_a·(x_s·A_a)·B_a for every segment s of the plan (a = its adapter); rows of
 * no adapter keep `base`. x: T×d_in, base: T×d_out, A[a]: d_in×r_a, B[a]: r_a×d_out.
 * Differentiable in x, base, A and B. The kernel is the best one registered for the
 * current backend, unless `provider` names one.
 */
export function groupedLora(x: tf.Tensor2D, base: tf.Tensor2D, A: readonly tf.Tensor2D[], B: readonly tf.Tensor2D[], plan: SegmentPlan, provider?: GroupedLoraProvider): tf.Tensor2D {
  checkShapes(x, base, A, B, plan);
  const backend = tf.getBackend();
  if (!provider) reportFallback(backend);
  const chosen = provider ?? tfjsKernels.resolve('groupedLora', backend).impl;
  chosen.ensure(backend);
  const inputs = [x, base, ...A, ...B] as unknown as tf.NamedTensorMap;
  // The backward kernel travels as an attribute, so forward and backward may come from different providers.
  const attrs = { ...planToAttrs(plan), backwardKernel: chosen.backward };
  return tf.engine().runKernel(chosen.forward, inputs, attrs) as tf.Tensor2D;
}

function checkShapes(x: tf.Tensor, base: tf.Tensor, A: readonly tf.Tensor[], B: readonly tf.Tensor[], plan: SegmentPlan): void {
  validateSegmentPlan(plan);
  const fail = (msg: string) => {
    throw new RangeError(`groupedLora: ${msg}`);
  };
  if (x.rank !== 2 || base.rank !== 2) fail(`x and base must be 2-D, got [${x.shape}] and [${base.shape}]`);
  const [T, dIn] = x.shape;
  const dOut = base.shape[1];
  if (base.shape[0] !== T) fail(`x has ${T} rows, base has ${base.shape[0]}`);
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
