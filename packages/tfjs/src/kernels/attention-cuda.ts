import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { kernelInput, registerOnce } from './primitives.js';
import { cudaKernelsAvailable } from './grouped-lora-cuda.js';
import { CUDA_BACKEND_NAME, type CudaBackendLike } from './host-backends.js';

/**
 * Causal grouped-query attention on the tfjs CUDA backend: one engine launch forward
 * ([o, lse]: each query row's log-sum-exp is kept for the gradient), two backward (dq; dk and
 * dv). No seq × seq matrix is stored. Attributes: scale, and tf32 (the products on the tensor
 * cores with TF32 inputs; the gradient takes the forward's attributes).
 */
export const ATTENTION_CUDA = 'AltoCausalAttention';
export const ATTENTION_CUDA_GRAD = 'AltoCausalAttentionGrad';

function dims(q: TensorInfo, k: TensorInfo): [number, number, number, number, number] {
  const [B, H, T, dh] = q.shape;
  return [B, H, k.shape[1], T, dh];
}

const forward: KernelFunc = ({ inputs, backend, attrs }) => {
  const b = backend as unknown as CudaBackendLike;
  const q = kernelInput(inputs, 'q'), k = kernelInput(inputs, 'k'), v = kernelInput(inputs, 'v');
  const [B, H, KV, T, dh] = dims(q, k);
  const o = b.makeOutput(q.shape, 'float32'), lse = b.makeOutput([B, H, T], 'float32');
  b.cuda.attention(b.ptr(q), b.ptr(k), b.ptr(v), b.ptr(o), b.ptr(lse), B, H, KV, T, dh, attrs!.scale as number, attrs!.tf32 === true);
  return [o, lse];
};

const backward: KernelFunc = ({ inputs, backend, attrs }) => {
  const b = backend as unknown as CudaBackendLike;
  const [q, k, v, o, lse, dO] = ['q', 'k', 'v', 'o', 'lse', 'dO'].map((n) => kernelInput(inputs, n));
  const [B, H, KV, T, dh] = dims(q, k);
  const dq = b.makeOutput(q.shape, 'float32'), dk = b.makeOutput(k.shape, 'float32'), dv = b.makeOutput(v.shape, 'float32');
  b.cuda.attentionGrad(b.ptr(q), b.ptr(k), b.ptr(v), b.ptr(o), b.ptr(lse), b.ptr(dO), b.ptr(dq), b.ptr(dk), b.ptr(dv), B, H, KV, T, dh, attrs!.scale as number, attrs!.tf32 === true);
  return [dq, dk, dv];
};

/** Registers the fused kernels for the CUDA backend (once); false when they cannot serve `backendName`. */
export function ensureAttentionCuda(backendName: string): boolean {
  if (backendName !== CUDA_BACKEND_NAME || !cudaKernelsAvailable()) return false;
  registerOnce(ATTENTION_CUDA, backendName, forward);
  registerOnce(ATTENTION_CUDA_GRAD, backendName, backward);
  return true;
}
