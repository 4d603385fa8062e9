import * as tf from '@tensorflow/tfjs-core';
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { registerOnce } from './primitives.js';
import { cudaKernelsAvailable } from './grouped-lora-cuda.js';
import { CUDA_BACKEND_NAME, type CudaBackendLike } from './host-backends.js';

/** Copies of float32 tensors with their own device data, one engine launch for all of them. */
export const COPY_MANY_CUDA = 'AltoCopyMany';

const copyMany: KernelFunc = ({ inputs, backend }) => {
  const b = backend as unknown as CudaBackendLike;
  const xs = Object.keys(inputs).sort((p, q) => Number(p) - Number(q)).map((k) => inputs[k] as TensorInfo);
  const outs = xs.map((x) => b.makeOutput(x.shape, 'float32'));
  const sized = xs.map((x, i) => ({ x, out: outs[i], bytes: 4 * tf.util.sizeFromShape(x.shape) })).filter((c) => c.bytes > 0);
  b.cuda.copyMany(sized.map((c) => b.ptr(c.out)), sized.map((c) => b.ptr(c.x)), sized.map((c) => c.bytes));
  return outs;
};

/**
 * Copies of `tensors` (float32), each with its own data: on the CUDA backend one launch for all
 * (a snapshot of an adapter is hundreds of small tensors), elsewhere × 1 per tensor (exact,
 * −0 included). Not tf.clone, which shares the data.
 */
export function copyTensors(tensors: readonly tf.Tensor[]): tf.Tensor[] {
  if (tensors.length === 0) return [];
  const backend = tf.getBackend();
  const engine = (tf.backend() as unknown as { cuda?: { copyMany?: unknown } }).cuda;
  if (backend === CUDA_BACKEND_NAME && typeof engine?.copyMany === 'function' && cudaKernelsAvailable() && tensors.every((t) => t.dtype === 'float32')) {
    registerOnce(COPY_MANY_CUDA, backend, copyMany);
    return tf.engine().runKernel(COPY_MANY_CUDA, Object.fromEntries(tensors.map((t, i) => [String(i), t]))) as unknown as tf.Tensor[];
  }
  return tf.tidy(() => {
    const one = tf.scalar(1, 'float32');
    return tensors.map((t) => tf.mul(t, one));
  });
}
