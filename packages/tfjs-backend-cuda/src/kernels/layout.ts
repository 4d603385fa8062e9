import * as tf from '@tensorflow/tfjs-core';
import type { DataType, KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { cuda, kernel } from './kernel.js';
import { bytesOf, elemOf, type CudaBackend } from '../backend.js';

/** The same data under another shape (no copy). */
export function reshape(backend: CudaBackend, x: TensorInfo, shape: number[]): TensorInfo {
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape, dtype: x.dtype };
}

export function transpose(backend: CudaBackend, x: TensorInfo, perm: number[]): TensorInfo {
  const out = backend.makeOutput(perm.map((p) => x.shape[p]), x.dtype);
  if (tf.util.sizeFromShape(x.shape) > 0) backend.cuda.transpose(backend.ptr(x), backend.ptr(out), x.shape, perm, bytesOf(x.dtype));
  return out;
}

export function cast(backend: CudaBackend, x: TensorInfo, dtype: DataType): TensorInfo {
  if (dtype === x.dtype) return reshape(backend, x, x.shape);
  const out = backend.makeOutput(x.shape, dtype);
  backend.cuda.cast(elemOf(x.dtype), backend.ptr(x), elemOf(dtype), backend.ptr(out), tf.util.sizeFromShape(x.shape));
  return out;
}

export function fill(backend: CudaBackend, shape: number[], dtype: DataType, value: number): TensorInfo {
  const out = backend.makeOutput(shape, dtype);
  backend.cuda.fill(elemOf(dtype), backend.ptr(out), value, tf.util.sizeFromShape(shape));
  return out;
}


export const layoutKernels: KernelConfig[] = [
  kernel(tf.Reshape, ({ inputs, backend, attrs }) => {
    const { x } = inputs as { x: TensorInfo };
    const shape = tf.util.inferFromImplicitShape(attrs!.shape as number[], tf.util.sizeFromShape(x.shape));
    return reshape(cuda(backend), x, shape);
  }),
  kernel(tf.Identity, ({ inputs, backend }) => {
    const { x } = inputs as { x: TensorInfo };
    return reshape(cuda(backend), x, x.shape);
  }),
  kernel(tf.Transpose, ({ inputs, backend, attrs }) => {
    const { x } = inputs as { x: TensorInfo };
    return transpose(cuda(backend), x, attrs!.perm as number[]);
  }),
  kernel(tf.Cast, ({ inputs, backend, attrs }) => {
    const { x } = inputs as { x: TensorInfo };
    return cast(cuda(backend), x, attrs!.dtype as DataType);
  }),
  kernel(tf.Fill, ({ backend, attrs }) => {
    const { shape, value, dtype } = attrs as unknown as { shape: number[]; value: number; dtype: DataType };
    return fill(cuda(backend), shape, dtype ?? 'float32', Number(value));
  }),
  kernel(tf.ZerosLike, ({ inputs, backend }) => {
    const { x } = inputs as { x: TensorInfo };
    return fill(cuda(backend), x.shape, x.dtype, 0);
  }),
  kernel(tf.OnesLike, ({ inputs, backend }) => {
    const { x } = inputs as { x: TensorInfo };
    return fill(cuda(backend), x.shape, x.dtype, 1);
  }),
  kernel(tf.Select, ({ inputs, backend }) => {
    const { condition, t, e } = inputs as { condition: TensorInfo; t: TensorInfo; e: TensorInfo };
    if (!tf.util.arraysEqual(condition.shape, t.shape) || !tf.util.arraysEqual(t.shape, e.shape)) {
      throw new Error(`Select on the CUDA backend needs condition, t and e of one shape (got ${condition.shape}, ${t.shape}, ${e.shape}); tf.where broadcasts them first`);
    }
    const b = cuda(backend);
    const out = b.makeOutput(t.shape, t.dtype);
    b.cuda.select(elemOf(t.dtype), b.ptr(condition), b.ptr(t), b.ptr(e), b.ptr(out), tf.util.sizeFromShape(t.shape));
    return out;
  }),
];
