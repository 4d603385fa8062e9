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

/** c += op(a)·op(b) for 2-D operands, at the backend's matmul precision. */
function matmulAdd(b: CudaBackendLike, x: TensorInfo, transX: boolean, w: TensorInfo, transW: boolean, c: TensorInfo): void {
  const m = c.shape[0], n = c.shape[1], k = transX ? x.shape[0] : x.shape[1];
  b.cuda.matmul(MatmulPrecision[b.options.matmulPrecision], 1, m, n, k, b.ptr(x), 0, transX, b.ptr(w), 0, transW, b.ptr(c), true);
}

const linearForward: KernelFunc = ({ inputs, backend, attrs }) => {
  const a = attrs as unknown as GroupedLoraAttrs;
  const b = backend as unknown as CudaBackendLike;
  const x = kernelInput(inputs, '0'), W = kernelInput(inputs, '1');
  const { A, B } = weights(inputs, a, b);
  const [T, dIn] = x.shape;
  const dOut = W.shape[1];
  const y = b.makeOutput([T, dOut], 'float32'), S = b.makeOutput([T, Math.max(...a.ranks)], 'float32');
  b.cuda.loraForward(planOf(a), b.ptr(x), dIn, A, B, 0, b.ptr(y), dOut, tensorCores(b), b.ptr(S));
  matmulAdd(b, x, false, W, false, y);
  return [y, S];
};

const linearBackward: KernelFunc = ({ inputs, backend, attrs }) => {
  const a = attrs as unknown as GroupedLoraAttrs;
  const b = backend as unknown as CudaBackendLike;
  const x = kernelInput(inputs, '0'), dy = kernelInput(inputs, '1'), W = kernelInput(inputs, '2');
  const S = kernelInput(inputs, String(3 + 2 * a.ranks.length));
  const { A, B } = weights(inputs, a, b, 3);
  const [T, dIn] = x.shape;
  const dOut = dy.shape[1];
  const dX = b.makeOutput([T, dIn], 'float32');
  const dA = a.ranks.map((r) => b.makeOutput([dIn, r], 'float32'));
  const dB = a.ranks.map((r) => b.makeOutput([r, dOut], 'float32'));
  b.cuda.loraBackward(planOf(a), b.ptr(x), dIn, b.ptr(dy), dOut, A, B, b.ptr(dX), dA.map((t) => b.ptr(t)), dB.map((t) => b.ptr(t)), tensorCores(b), b.ptr(S), 0);
  matmulAdd(b, dy, false, W, true, dX);
  return [dX, ...dA, ...dB];
};

const forward: KernelFunc = ({ inputs, backend, attrs }) => {
  const a = attrs as unknown as GroupedLoraAttrs;
  const b = backend as unknown as CudaBackendLike;
  const x = kernelInput(inputs, '0'), base = kernelInput(inputs, '1');
  const { A, B } = weights(inputs, a, b);
  const [T, dIn] = x.shape;
  const dOut = base.shape[1];
  const y = b.makeOutput([T, dOut], 'float32'), S = b.makeOutput([T, Math.max(...a.ranks)], 'float32');
  b.cuda.loraForward(planOf(a), b.ptr(x), dIn, A, B, b.ptr(base), b.ptr(y), dOut, tensorCores(b), b.ptr(S));
  return [y, S];
};

const backward: KernelFunc = ({ inputs, backend, attrs }) => {
  const a = attrs as unknown as GroupedLoraAttrs;
  const b = backend as unknown as CudaBackendLike;
  const x = kernelInput(inputs, '0'), dy = kernelInput(inputs, '1'), S = kernelInput(inputs, String(2 + 2 * a.ranks.length));
  const dxBase = inputs[String(3 + 2 * a.ranks.length)];
  const { A, B } = weights(inputs, a, b);
  const [T, dIn] = x.shape;
  const dOut = dy.shape[1];
  const dX = b.makeOutput([T, dIn], 'float32');
  const dA = a.ranks.map((r) => b.makeOutput([dIn, r], 'float32'));
  const dB = a.ranks.map((r) => b.makeOutput([r, dOut], 'float32'));
  b.cuda.loraBackward(planOf(a), b.ptr(x), dIn, b.ptr(dy), dOut, A, B, b.ptr(dX), dA.map((t) => b.ptr(t)), dB.map((t) => b.ptr(t)), tensorCores(b), b.ptr(S),
    dxBase ? b.ptr(dxBase) : 0);
  return [dX, ...dA, ...dB];
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
