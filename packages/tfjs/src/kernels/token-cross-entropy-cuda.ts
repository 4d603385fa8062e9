import type { KernelFunc } from '@tensorflow/tfjs-core';
import { kernelInput, lastAxisRows, registerOnce } from './primitives.js';
import { cudaKernelsAvailable } from './grouped-lora-cuda.js';
import { CUDA_BACKEND_NAME, type CudaBackendLike } from './host-backends.js';

/**
 * Token cross-entropy on the tfjs CUDA backend: one engine launch forward ([loss, lse]: the
 * per-row log-sum-exp is kept for the gradient) reading the logits once, and one backward
 * launch reading them once and writing their gradient.
 */
export const TOKEN_CROSS_ENTROPY_CUDA = 'AltoTokenCrossEntropy';
export const TOKEN_CROSS_ENTROPY_CUDA_GRAD = 'AltoTokenCrossEntropyGrad';

const forward: KernelFunc = ({ inputs, backend }) => {
  const b = backend as unknown as CudaBackendLike;
  const logits = kernelInput(inputs, 'logits'), targets = kernelInput(inputs, 'targets');
  const [rows, vocab] = lastAxisRows(logits);
  const shape = logits.shape.slice(0, -1);
  const loss = b.makeOutput(shape, 'float32'), lse = b.makeOutput(shape, 'float32');
  b.cuda.tokenCrossEntropy(b.ptr(logits), b.ptr(targets), b.ptr(loss), b.ptr(lse), rows, vocab);
  return [loss, lse];
};

const backward: KernelFunc = ({ inputs, backend }) => {
  const b = backend as unknown as CudaBackendLike;
  const logits = kernelInput(inputs, 'logits'), targets = kernelInput(inputs, 'targets');
  const lse = kernelInput(inputs, 'lse'), dy = kernelInput(inputs, 'dy');
  const [rows, vocab] = lastAxisRows(logits);
  // The logits are read only here, and where the gradient's saved copy is the last tensor on
  // their data (the forward's are gone) their gradient takes their memory: a language model's
  // largest tensor not made twice at the step's peak.
  const inPlace = b.refCount(logits.dataId) === 1;
  const dlogits = inPlace ? { dataId: logits.dataId, shape: logits.shape, dtype: 'float32' as const } : b.makeOutput(logits.shape, 'float32');
  if (inPlace) b.incRef(logits.dataId);
  b.cuda.tokenCrossEntropyGrad(b.ptr(logits), b.ptr(targets), b.ptr(lse), b.ptr(dy), b.ptr(dlogits), rows, vocab);
  return dlogits;
};

/** Registers the fused kernels for the CUDA backend (once); false when they cannot serve `backendName`. */
export function ensureTokenCrossEntropyCuda(backendName: string): boolean {
  if (backendName !== CUDA_BACKEND_NAME || !cudaKernelsAvailable()) return false;
  registerOnce(TOKEN_CROSS_ENTROPY_CUDA, backendName, forward);
  registerOnce(TOKEN_CROSS_ENTROPY_CUDA_GRAD, backendName, backward);
  return true;
}
