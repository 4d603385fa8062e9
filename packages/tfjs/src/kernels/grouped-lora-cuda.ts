import type { KernelFunc, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs-core';
import { loadNativeKernels, MatmulPrecision } from '@alto/kernels';
import { kernelInput, registerOnce } from './primitives.js';
import { adapterInputName, GroupedLoraAttrs } from './plan-attrs.js';
import { planOf } from './grouped-lora-native.js';
import { CUDA_BACKEND_NAME, type CudaBackendLike } from './host-backends.js';

/**
 * The grouped-LoRA kernels of @alto/kernels on the tfjs CUDA backend's device tensors (zero
 * copy): one shrink and one expand launch forward, which also return S = x·A (T × max rank)
 * for the gradient; one backward launch set (dS, dX, dA and dB) from it. Inputs: forward
 * [x, base, A…, B…] → [y, S]; backward [x, dy, A…, B…, S, dxBase?] → [dX, dA…, dB…], dX = dxBase
 * (the base layer's gradient, when given) + the LoRA's, in the one pass that writes dX. They multiply as the backend's matmuls do:
 * exact fp32 under matmulPrecision 'fp32', on the tensor cores with TF32 inputs otherwise
 * (under 'bf16' too: the activations are fp32 and TF32 keeps more of them at the same speed).
 */
export const GROUPED_LORA_CUDA = 'AltoGroupedLoraCuda';
export const GROUPED_LORA_CUDA_GRAD = 'AltoGroupedLoraCudaGrad';
/**
 * x·W + grouped LoRA as one kernel each way: the LoRA writes its part (y = s·S·B, 0 on rows of
 * no adapter; dX = dS·Aᵀ likewise) and the backend's matmul adds x·W (dy·Wᵀ) into it in its
 * epilogue. A separate x·W and a LoRA kernel adding into it would write and read that product
 * once more: T × d_out floats forward, T × d_in backward, per projection. Inputs: forward [x,
 * W, A…, B…] → [y, S]; backward [x, dy, W, A…, B…, S] → [dX, dA…, dB…].
 */
export const GROUPED_LORA_LINEAR_CUDA = 'AltoGroupedLoraLinearCuda';
export const GROUPED_LORA_LINEAR_CUDA_GRAD = 'AltoGroupedLoraLinearCudaGrad';

const tensorCores = (b: CudaBackendLike): boolean => b.options.matmulPrecision !== 'fp32';

/** The adapters' A and B device addresses among a grouped kernel's inputs (`lead` inputs before them). */
function weights(inputs: NamedTensorInfoMap, a: GroupedLoraAttrs, b: CudaBackendLike, lead = 2): { A: number[]; B: number[] } {
  const K = a.ranks.length;
  return {
    A: a.ranks.map((_, i) => b.ptr(kernelInput(inputs, adapterInputName('A', i, K, lead)))),
    B: a.ranks.map((_, i) => b.ptr(kernelInput(inputs, adapterInputName('B', i, K, lead)))),
  };
}

/** c += op(a)·op(b) for 2-D operands, at the backend's matmul precision (x's bf16 copy, where its maker wrote one). */
function matmulAdd(b: CudaBackendLike, x: TensorInfo, transX: boolean, w: TensorInfo, transW: boolean, c: TensorInfo): void {
  const m = c.shape[0], n = c.shape[1], k = transX ? x.shape[0] : x.shape[1];
  b.cuda.matmul(MatmulPrecision[b.options.matmulPrecision], 1, m, n, k, b.ptr(x), 0, transX, b.ptr(w), 0, transW, b.ptr(c), true, b.bf16CopyOf?.(x) ?? 0);
}

/** y and S of the grouped LoRA forward; y = base + LoRA (base 0: no base, y = LoRA). */
function loraForward(b: CudaBackendLike, a: GroupedLoraAttrs, x: TensorInfo, w: { A: number[]; B: number[] }, dOut: number, base: number): TensorInfo[] {
  const [T, dIn] = x.shape;
  const y = b.makeOutput([T, dOut], 'float32'), S = b.makeOutput([T, Math.max(...a.ranks)], 'float32');
  b.cuda.loraForward(planOf(a), b.ptr(x), dIn, w.A, w.B, base, b.ptr(y), dOut, tensorCores(b), b.ptr(S));
  return [y, S];
}

/** dX, dA… and dB… of the grouped LoRA backward; dX = dxBase + LoRA's (dxBase 0: none). */
function loraBackward(b: CudaBackendLike, a: GroupedLoraAttrs, x: TensorInfo, dy: TensorInfo, w: { A: number[]; B: number[] }, S: TensorInfo, dxBase: number): TensorInfo[] {
  const [T, dIn] = x.shape;
  const dOut = dy.shape[1];
  const dX = b.makeOutput([T, dIn], 'float32');
  const dA = a.ranks.map((r) => b.makeOutput([dIn, r], 'float32'));
  const dB = a.ranks.map((r) => b.makeOutput([r, dOut], 'float32'));
  b.cuda.loraBackward(planOf(a), b.ptr(x), dIn, b.ptr(dy), dOut, w.A, w.B, b.ptr(dX), dA.map((t) => b.ptr(t)), dB.map((t) => b.ptr(t)), tensorCores(b), b.ptr(S), dxBase);
  return [dX, ...dA, ...dB];
}

const forward: KernelFunc = ({ inputs, backend, attrs }) => {
  const a = attrs as unknown as GroupedLoraAttrs, b = backend as unknown as CudaBackendLike;
  const base = kernelInput(inputs, '1');
  return loraForward(b, a, kernelInput(inputs, '0'), weights(inputs, a, b), base.shape[1], b.ptr(base));
};

const backward: KernelFunc = ({ inputs, backend, attrs }) => {
  const a = attrs as unknown as GroupedLoraAttrs, b = backend as unknown as CudaBackendLike;
  const S = kernelInput(inputs, String(2 + 2 * a.ranks.length)), dxBase = inputs[String(3 + 2 * a.ranks.length)];
  return loraBackward(b, a, kernelInput(inputs, '0'), kernelInput(inputs, '1'), weights(inputs, a, b), S, dxBase ? b.ptr(dxBase) : 0);
};

const linearForward: KernelFunc = ({ inputs, backend, attrs }) => {
  const a = attrs as unknown as GroupedLoraAttrs, b = backend as unknown as CudaBackendLike;
  const x = kernelInput(inputs, '0'), W = kernelInput(inputs, '1');
  const [y, S] = loraForward(b, a, x, weights(inputs, a, b), W.shape[1], 0);
  matmulAdd(b, x, false, W, false, y);
  return [y, S];
};

const linearBackward: KernelFunc = ({ inputs, backend, attrs }) => {
  const a = attrs as unknown as GroupedLoraAttrs, b = backend as unknown as CudaBackendLike;
  const dy = kernelInput(inputs, '1'), W = kernelInput(inputs, '2');
  const out = loraBackward(b, a, kernelInput(inputs, '0'), dy, weights(inputs, a, b, 3), kernelInput(inputs, String(3 + 2 * a.ranks.length)), 0);
  matmulAdd(b, dy, false, W, true, out[0]);
  return out;
};

/** Whether this build can run the grouped kernels on the CUDA backend. */
export function cudaKernelsAvailable(): boolean {
  const load = loadNativeKernels();
  return load.ok && typeof load.kernels.CudaEngine === 'function';
}

/** Registers the device kernels for the CUDA backend (once); false when they cannot serve `backendName`. */
export function ensureCudaKernels(backendName: string): boolean {
  if (backendName !== CUDA_BACKEND_NAME || !cudaKernelsAvailable()) return false;
  registerOnce(GROUPED_LORA_CUDA, backendName, forward);
  registerOnce(GROUPED_LORA_CUDA_GRAD, backendName, backward);
  registerOnce(GROUPED_LORA_LINEAR_CUDA, backendName, linearForward);
  registerOnce(GROUPED_LORA_LINEAR_CUDA_GRAD, backendName, linearBackward);
  return true;
}
