import type { KernelFunc } from '@tensorflow/tfjs-core';
import { kernelInput, lastAxisRows, registerOnce } from './primitives.js';
import { cudaKernelsAvailable } from './grouped-lora-cuda.js';
import { CUDA_BACKEND_NAME, type CudaBackendLike } from './host-backends.js';

/**
 * LayerNorm on the tfjs CUDA backend: one engine launch forward ([y, mean, invStd]: the row
 * statistics are kept for the gradient), one launch pair backward (dx; dg and db summed down
 * the columns).
 */
export const LAYER_NORM_CUDA = 'AltoLayerNorm';
export const LAYER_NORM_CUDA_GRAD = 'AltoLayerNormGrad';

const forward: KernelFunc = ({ inputs, backend, attrs }) => {
  const b = backend as unknown as CudaBackendLike;
  const x = kernelInput(inputs, 'x'), g = kernelInput(inputs, 'g'), bias = kernelInput(inputs, 'b');
  const [rows, cols] = lastAxisRows(x);
  const rowShape = x.shape.slice(0, -1);
  const y = b.makeOutput(x.shape, 'float32'), mean = b.makeOutput(rowShape, 'float32'), invStd = b.makeOutput(rowShape, 'float32');
  b.cuda.layerNorm(b.ptr(x), b.ptr(g), b.ptr(bias), b.ptr(y), b.ptr(mean), b.ptr(invStd), rows, cols, attrs!.eps as number);
  return [y, mean, invStd];
};

const backward: KernelFunc = ({ inputs, backend }) => {
  const b = backend as unknown as CudaBackendLike;
  const [x, g, mean, invStd, dy] = ['x', 'g', 'mean', 'invStd', 'dy'].map((n) => kernelInput(inputs, n));
  const [rows, cols] = lastAxisRows(x);
  const dx = b.makeOutput(x.shape, 'float32'), dg = b.makeOutput(g.shape, 'float32'), db = b.makeOutput(g.shape, 'float32');
  b.cuda.layerNormGrad(b.ptr(x), b.ptr(g), b.ptr(mean), b.ptr(invStd), b.ptr(dy), b.ptr(dx), b.ptr(dg), b.ptr(db), rows, cols);
  return [dx, dg, db];
};

/** Registers the fused kernels for the CUDA backend (once); false when they cannot serve `backendName`. */
export function ensureLayerNormCuda(backendName: string): boolean {
  if (backendName !== CUDA_BACKEND_NAME || !cudaKernelsAvailable()) return false;
  registerOnce(LAYER_NORM_CUDA, backendName, forward);
  registerOnce(LAYER_NORM_CUDA_GRAD, backendName, backward);
  return true;
}
