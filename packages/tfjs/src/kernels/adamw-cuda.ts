import * as tf from '@tensorflow/tfjs-core';
import type { AdamWHyper } from '@alto/core';
import { CUDA_BACKEND_NAME, type CudaBackendLike } from './host-backends.js';

interface CudaBackendData extends CudaBackendLike {
  refCount(dataId: object): number;
  writtenInPlace?(dataId: object): void;
}

/**
 * One adapter's AdamW step as one launch of the CUDA engine, in place: the per-tensor tfjs ops
 * cost about ten kernel calls per tensor, and a step of 60 adapters on 7 projections × 16
 * layers has 13,440 tensors. Only where nothing else shares the tensors' device data (a
 * variable's data is otherwise immutable to tfjs): false, and the composite runs, when any
 * is shared, not float32, or the backend is not the CUDA one.
 */
export function adamwInPlaceCuda(params: readonly tf.Tensor[], grads: readonly tf.Tensor[], m: readonly tf.Tensor[], v: readonly tf.Tensor[], hyper: AdamWHyper): boolean {
  if (tf.getBackend() !== CUDA_BACKEND_NAME) return false;
  const backend = tf.backend() as unknown as CudaBackendData;
  if (typeof backend.cuda?.adamw !== 'function' || typeof backend.writtenInPlace !== 'function') return false;
  const owned = (t: tf.Tensor) => t.dtype === 'float32' && !t.isDisposed && backend.refCount(t.dataId) === 1;
  if (![...params, ...m, ...v].every(owned) || !grads.every((g) => g.dtype === 'float32' && !g.isDisposed)) return false;
  const ptrs = (list: readonly tf.Tensor[]) => list.map((t) => backend.ptr(t));
  const { learningRate, weightDecay, beta1, beta2, epsilon, bc1, bc2 } = hyper;
  // The scalars as the composite step makes them (in double, then rounded once to f32).
  const scalars = [beta1, 1 - beta1, beta2, 1 - beta2, 1 / Math.sqrt(bc2), epsilon, 1 - learningRate * weightDecay, -learningRate / bc1];
  backend.cuda.adamw(ptrs(params), ptrs(grads), ptrs(m), ptrs(v), params.map((p) => p.size), scalars);
  for (const t of [...params, ...m, ...v]) backend.writtenInPlace!(t.dataId);
  return true;
}
