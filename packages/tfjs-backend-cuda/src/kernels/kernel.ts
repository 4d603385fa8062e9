import type { KernelConfig, KernelFunc } from '@tensorflow/tfjs-core';
import type { CudaBackend } from '../backend.js';

/** A kernel config for this backend (the backend name is filled in at registration). */
export const kernel = (kernelName: string, kernelFunc: KernelFunc): KernelConfig => ({ kernelName, backendName: '', kernelFunc });

/** The backend a kernel function receives, as this backend. */
export const cuda = (backend: unknown) => backend as CudaBackend;
