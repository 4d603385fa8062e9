import type { KernelFunc } from '@tensorflow/tfjs-core';
import { kernelInput, registerOnce } from './primitives.js';
import { cudaKernelsAvailable } from './grouped-lora-cuda.js';
import { CUDA_BACKEND_NAME, type CudaBackendLike } from './host-backends.js';

/**
 * SwiGLU and rotary positions on the tfjs CUDA backend: one engine pass each way (forward;
 * both gradients at once for SwiGLU, the transposed rotation for rope). Under bf16 matmuls
 * SwiGLU also writes its output rounded to bf16, for the down projection that reads it.
 */
export const SWIGLU_CUDA = 'AltoSwiglu';
export const SWIGLU_CUDA_GRAD = 'AltoSwigluGrad';
export const ROPE_CUDA = 'AltoRope';
export const ROPE_CUDA_GRAD = 'AltoRopeGrad';

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

const swiglu: KernelFunc = ({ inputs, backend }) => {
  const b = backend as unknown as CudaBackendLike;
  const gate = kernelInput(inputs, 'gate'), up = kernelInput(inputs, 'up');
  const y = b.makeOutput(gate.shape, 'float32');
  b.cuda.swiglu(b.ptr(gate), b.ptr(up), b.ptr(y), size(gate.shape), b.bf16CopyTarget?.(y) ?? 0);
  return y;
};

const swigluGrad: KernelFunc = ({ inputs, backend }) => {
  const b = backend as unknown as CudaBackendLike;
  const gate = kernelInput(inputs, 'gate'), up = kernelInput(inputs, 'up'), dy = kernelInput(inputs, 'dy');
  const dgate = b.makeOutput(gate.shape, 'float32'), dup = b.makeOutput(up.shape, 'float32');
  b.cuda.swigluGrad(b.ptr(gate), b.ptr(up), b.ptr(dy), b.ptr(dgate), b.ptr(dup), size(gate.shape));
  return [dgate, dup];
};

// x [..., T, dh] with cos and sin [T, dh]: every leading axis is one "outer" row block.
const rotate = (backward: boolean): KernelFunc => ({ inputs, backend }) => {
  const b = backend as unknown as CudaBackendLike;
  const x = kernelInput(inputs, 'x'), cos = kernelInput(inputs, 'cos'), sin = kernelInput(inputs, 'sin');
  const [T, dh] = cos.shape;
  const y = b.makeOutput(x.shape, 'float32');
  b.cuda.rope(backward, b.ptr(x), b.ptr(cos), b.ptr(sin), b.ptr(y), size(x.shape) / (T * dh), T, dh);
  return y;
};

/** Registers the fused kernels for the CUDA backend (once); false when they cannot serve `backendName`. */
export function ensureLlamaOpsCuda(backendName: string): boolean {
  if (backendName !== CUDA_BACKEND_NAME || !cudaKernelsAvailable()) return false;
  registerOnce(SWIGLU_CUDA, backendName, swiglu);
  registerOnce(SWIGLU_CUDA_GRAD, backendName, swigluGrad);
  registerOnce(ROPE_CUDA, backendName, rotate(false));
  registerOnce(ROPE_CUDA_GRAD, backendName, rotate(true));
  return true;
}
