import type { KernelFunc } from '@tensorflow/tfjs-core';
import { kernelInput, lastAxisRows, registerOnce } from './primitives.js';
import { cudaKernelsAvailable } from './grouped-lora-cuda.js';
import { CUDA_BACKEND_NAME, type CudaBackendLike } from './host-backends.js';

/**
 * RMSNorm on the tfjs CUDA backend as one engine launch forward ([y, invRms]: the per-row
 * inverse RMS is kept for the gradient) and one backward launch pair (dx, then dg summed
 * down the columns). Under bf16 matmuls the forward also writes y rounded to bf16, which the
 * products reading y next (a layer's projections) take instead of rounding y each.
 */
export const RMS_NORM_CUDA = 'AltoRmsNorm';
export const RMS_NORM_CUDA_GRAD = 'AltoRmsNormGrad';

const forward: KernelFunc = ({ inputs, backend, attrs }) => {
  const b = backend as unknown as CudaBackendLike;
  const x = kernelInput(inputs, 'x'), g = kernelInput(inputs, 'g');
  const [rows, cols] = lastAxisRows(x);
  const y = b.makeOutput(x.shape, 'float32'), invRms = b.makeOutput(x.shape.slice(0, -1), 'float32');
  b.cuda.rmsNorm(b.ptr(x), b.ptr(g), b.ptr(y), b.ptr(invRms), rows, cols, attrs!.eps as number, b.bf16CopyTarget?.(y) ?? 0);
  return [y, invRms];
};

const backward: KernelFunc = ({ inputs, backend }) => {
  const b = backend as unknown as CudaBackendLike;
  const x = kernelInput(inputs, 'x'), g = kernelInput(inputs, 'g'), invRms = kernelInput(inputs, 'invRms'), dy = kernelInput(inputs, 'dy');
  const [rows, cols] = lastAxisRows(x);
  const dx = b.makeOutput(x.shape, 'float32'), dg = b.makeOutput(g.shape, 'float32');
  b.cuda.rmsNormGrad(b.ptr(x), b.ptr(g), b.ptr(invRms), b.ptr(dy), b.ptr(dx), b.ptr(dg), rows, cols);
  return [dx, dg];
};

/** Registers the fused kernels for the CUDA backend (once); false when they cannot serve `backendName`. */
export function ensureRmsNormCuda(backendName: string): boolean {
  if (backendName !== CUDA_BACKEND_NAME || !cudaKernelsAvailable()) return false;
  registerOnce(RMS_NORM_CUDA, backendName, forward);
  registerOnce(RMS_NORM_CUDA_GRAD, backendName, backward);
  return true;
}
