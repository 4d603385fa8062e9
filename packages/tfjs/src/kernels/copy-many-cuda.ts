import * as tf from '@tensorflow/tfjs-core';
import type { KernelFunc, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs-core';
import { registerOnce } from './primitives.js';
import { cudaKernelsAvailable } from './grouped-lora-cuda.js';
import { CUDA_BACKEND_NAME, type CudaBackendLike } from './host-backends.js';

// The kernels' inputs are named by position ("0", "1", …): back to a list in that order.
const inOrder = (inputs: NamedTensorInfoMap): TensorInfo[] => Object.keys(inputs).sort((p, q) => Number(p) - Number(q)).map((k) => inputs[k] as TensorInfo);

/** Copies of float32 tensors with their own device data, one engine launch for all of them. */
export const COPY_MANY_CUDA = 'AltoCopyMany';

const copyMany: KernelFunc = ({ inputs, backend }) => {
  const b = backend as unknown as CudaBackendLike;
  const xs = inOrder(inputs);
  const outs = xs.map((x) => b.makeOutput(x.shape, 'float32'));
  const sized = xs.map((x, i) => ({ x, out: outs[i], bytes: 4 * tf.util.sizeFromShape(x.shape) })).filter((c) => c.bytes > 0);
  b.cuda.copyMany(sized.map((c) => b.ptr(c.out)), sized.map((c) => b.ptr(c.x)), sized.map((c) => c.bytes));
  return outs;
};

/** float32 tensors end to end in one new 1-D tensor, one engine launch for all of them. */
export const FLATTEN_MANY_CUDA = 'AltoFlattenMany';

const flattenMany: KernelFunc = ({ inputs, backend }) => {
  const b = backend as unknown as CudaBackendLike;
  const xs = inOrder(inputs);
  const sizes = xs.map((x) => tf.util.sizeFromShape(x.shape));
  const out = b.makeOutput([sizes.reduce((n, k) => n + k, 0)], 'float32');
  const dst: number[] = [], src: number[] = [], bytes: number[] = [];
  let at = 0;
  xs.forEach((x, i) => {
    if (sizes[i] > 0) {
      dst.push(b.ptr(out) + 4 * at);
      src.push(b.ptr(x));
      bytes.push(4 * sizes[i]);
    }
    at += sizes[i];
  });
  b.cuda.copyMany(dst, src, bytes);
  return out;
};

// The engine's copy takes at most this many buffers a launch.
const MOST_BUFFERS = 65535;

const useCopyMany = (tensors: readonly tf.Tensor[]) => {
  const engine = (tf.backend() as unknown as { cuda?: { copyMany?: unknown } }).cuda;
  return tf.getBackend() === CUDA_BACKEND_NAME && typeof engine?.copyMany === 'function' && cudaKernelsAvailable() && tensors.length <= MOST_BUFFERS && tensors.every((t) => t.dtype === 'float32');
};

/**
 * `tensors` (float32) flattened and joined end to end, as tf.concat of their reshapes: on the
 * CUDA backend one launch for all (an adapter's weights are 224 tensors on a 16-layer Llama,
 * and a concat costs the host a call for each), elsewhere that concat.
 */
export function flattenTensors(tensors: readonly tf.Tensor[]): tf.Tensor1D {
  if (tensors.length > 0 && useCopyMany(tensors)) {
    registerOnce(FLATTEN_MANY_CUDA, tf.getBackend(), flattenMany);
    return tf.engine().runKernel(FLATTEN_MANY_CUDA, Object.fromEntries(tensors.map((t, i) => [String(i), t]))) as tf.Tensor1D;
  }
  return tf.tidy(() => (tensors.length === 0 ? tf.tensor1d([]) : tf.concat(tensors.map((t) => tf.reshape(t, [-1]))))) as tf.Tensor1D;
}

/**
 * Copies of `tensors` (float32), each with its own data: on the CUDA backend one launch for all
 * (a snapshot of an adapter is hundreds of small tensors), elsewhere × 1 per tensor (exact,
 * −0 included). Not tf.clone, which shares the data.
 */
export function copyTensors(tensors: readonly tf.Tensor[]): tf.Tensor[] {
  if (tensors.length === 0) return [];
  if (useCopyMany(tensors)) {
    registerOnce(COPY_MANY_CUDA, tf.getBackend(), copyMany);
    return tf.engine().runKernel(COPY_MANY_CUDA, Object.fromEntries(tensors.map((t, i) => [String(i), t]))) as unknown as tf.Tensor[];
  }
  return tf.tidy(() => {
    const one = tf.scalar(1, 'float32');
    return tensors.map((t) => tf.mul(t, one));
  });
}
