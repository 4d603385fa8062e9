/**
 * @alto/tfjs-backend-cuda: a tfjs backend on ALTO's native CUDA engine (packages/kernels),
 * for NVIDIA GPUs that tfjs-node-gpu cannot use. Tensors stay in the engine's device memory
 * pool (cudaMalloc, and device memory mapped in chunks for large tensors), kernels are queued on one stream, values are copied to the host
 * only when read; matrix products go through cuBLAS in fp32, TF32 or bf16.
 *
 *   import { registerCudaBackend } from '@alto/tfjs-backend-cuda';
 *   const r = registerCudaBackend({ matmulPrecision: 'tf32' });
 *   if (r.ok) await tf.setBackend(r.name); else console.warn(r.reason);
 *
 * Registration never touches the GPU; the engine starts when tfjs first initialises the
 * backend. A kernel the backend lacks fails with tfjs's error naming it, unless the option
 * `cpuFallback` asks for it to run on the CPU (reported once per kernel).
 */
import * as tf from '@tensorflow/tfjs-core';
import { loadNativeKernels } from '@alto/kernels';
import { CudaBackend } from './backend.js';
import { cudaKernels } from './kernels/index.js';
import { resolveCudaOptions, type CudaBackendOptions } from './options.js';
import { registerCpuFallbacks } from './fallback.js';

export { CudaBackend } from './backend.js';
export { cudaOptionProblems, resolveCudaOptions } from './options.js';
export type { CudaBackendOptions, ResolvedCudaOptions } from './options.js';
export { cudaKernels } from './kernels/index.js';
export { cpuFallbackKernels } from './fallback.js';

/** The name the backend registers under. */
export const CUDA_BACKEND = 'alto-cuda';

export type CudaRegistration = { ok: true; name: string } | { ok: false; reason: string };

let registeredWith: string | undefined;

/**
 * Registers the backend and its kernels with tfjs when this machine can run it; otherwise
 * says why (no native build, a build without CUDA, no such device). Bad options throw a
 * RangeError naming each field.
 */
export function registerCudaBackend(options?: CudaBackendOptions): CudaRegistration {
  const opts = resolveCudaOptions(options);
  const load = loadNativeKernels();
  if (!load.ok) return { ok: false, reason: load.reason };
  const { kernels } = load;
  const Engine = kernels.CudaEngine;
  if (!Engine) return { ok: false, reason: 'this build of @alto/kernels has no CUDA engine (nvcc was not found when it was built)' };
  const devices = kernels.cudaDeviceCount();
  if (opts.device >= devices) return { ok: false, reason: `no CUDA device ${opts.device} on this machine (${devices} found)` };
  for (const config of cudaKernels) {
    if (!tf.getKernel(config.kernelName, CUDA_BACKEND)) tf.registerKernel({ ...config, backendName: CUDA_BACKEND });
  }
  // Registered again: the same options keep the backend; other options replace it until it has started.
  const key = JSON.stringify(opts);
  if (tf.findBackendFactory(CUDA_BACKEND) && registeredWith !== undefined) {
    if (registeredWith === key) return { ok: true, name: CUDA_BACKEND };
    if (tf.engine().registry[CUDA_BACKEND]) return { ok: false, reason: `${CUDA_BACKEND} already runs with other options (${registeredWith})` };
    tf.removeBackend(CUDA_BACKEND);
  }
  tf.registerBackend(CUDA_BACKEND, () => {
    // The cpu kernels present when the backend starts get their fallbacks.
    if (opts.cpuFallback) registerCpuFallbacks(CUDA_BACKEND);
    return new CudaBackend(new Engine(opts.device, { pagedMemory: opts.pagedMemory }), opts);
  }, opts.priority);
  registeredWith = key;
  return { ok: true, name: CUDA_BACKEND };
}
