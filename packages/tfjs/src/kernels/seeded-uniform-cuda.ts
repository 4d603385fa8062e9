import type { KernelFunc } from '@tensorflow/tfjs-core';
import { registerOnce } from './primitives.js';
import { cudaKernelsAvailable } from './grouped-lora-cuda.js';
import { CUDA_BACKEND_NAME, type CudaBackendLike } from './host-backends.js';

/** Uniform f32 values drawn on the device from an Rng state: attrs { shape, state, lo, hi }. */
export const SEEDED_UNIFORM_CUDA = 'AltoSeededUniform';

export interface SeededUniformAttrs {
  shape: number[];
  state: number;
  lo: number;
  hi: number;
}

const seededUniform: KernelFunc = ({ backend, attrs }) => {
  const b = backend as unknown as CudaBackendLike;
  const { shape, state, lo, hi } = attrs as unknown as SeededUniformAttrs;
  const y = b.makeOutput(shape, 'float32');
  b.cuda.fillUniform(b.ptr(y), shape.reduce((a, d) => a * d, 1), state, lo, hi);
  return y;
};

/** Registers the kernel for the CUDA backend (once); false when it cannot serve `backendName`. */
export function ensureSeededUniformCuda(backendName: string): boolean {
  if (backendName !== CUDA_BACKEND_NAME || !cudaKernelsAvailable()) return false;
  registerOnce(SEEDED_UNIFORM_CUDA, backendName, seededUniform);
  return true;
}
