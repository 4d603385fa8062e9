import * as tf from '@tensorflow/tfjs-core';
import type { DataType, KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { Elem, ReduceOp } from '@alto/kernels';
import type { CudaBackend } from '../backend.js';
import { cuda, kernel } from './kernel.js';
import { cast, reshape, transpose } from './layout.js';

/**
 * Reduces `x` over `axes`: the reduced axes are moved innermost (a transpose when needed) so
 * the engine reduces the last axis of an [outer, inner] view.
 */
export function reduce(backend: CudaBackend, op: number, x: TensorInfo, axis: number | number[], keepDims: boolean): TensorInfo {
  const rank = x.shape.length;
  const axes = tf.util.parseAxisParam(axis, x.shape);
  const perm = tf.backend_util.getAxesPermutation(axes, rank);
  const arg = op === ReduceOp.ArgMax || op === ReduceOp.ArgMin;
  const wanted: DataType = arg ? 'int32' : op === ReduceOp.Mean ? 'float32' : op === ReduceOp.Sum || op === ReduceOp.Prod ? tf.upcastType(x.dtype, 'int32') : x.dtype;
  const temps: TensorInfo[] = [];
  let input = x;
  if (!arg && input.dtype !== wanted) temps.push((input = cast(backend, input, wanted)));
  if (input.dtype === 'bool') temps.push((input = cast(backend, input, 'int32')));
  if (perm != null) temps.push((input = transpose(backend, input, perm)));
  const inner = tf.backend_util.getInnerMostAxes(axes.length, rank);
  const [outShape, reduceShape] = tf.backend_util.computeOutAndReduceShapes(input.shape, inner);
  const out = backend.makeOutput(outShape, arg ? 'int32' : input.dtype);
  backend.cuda.reduce(op, input.dtype === 'float32' ? Elem.f32 : Elem.i32, backend.ptr(input), backend.ptr(out), tf.util.sizeFromShape(outShape),
    tf.util.sizeFromShape(reduceShape));
  for (const t of temps) backend.disposeIntermediate(t);
  if (!keepDims) return out;
  const kept = reshape(backend, out, tf.backend_util.expandShapeToKeepDim(outShape, axes));
  backend.disposeIntermediate(out);
  return kept;
}

function reduceKernel(kernelName: string, op: number): KernelConfig {
  return kernel(kernelName, ({ inputs, backend, attrs }) => {
    const { x } = inputs as { x: TensorInfo };
    // Max names its axes reductionIndices; the others name them axis.
    const { axis, reductionIndices, keepDims } = attrs as unknown as { axis?: number | number[]; reductionIndices?: number | number[]; keepDims?: boolean };
    return reduce(cuda(backend), op, x, (axis ?? reductionIndices)!, keepDims ?? false);
  });
}

export const reduceKernels: KernelConfig[] = [
  reduceKernel(tf.Sum, ReduceOp.Sum),
  reduceKernel(tf.Mean, ReduceOp.Mean),
  reduceKernel(tf.Max, ReduceOp.Max),
  reduceKernel(tf.Min, ReduceOp.Min),
  reduceKernel(tf.Prod, ReduceOp.Prod),
  reduceKernel(tf.ArgMax, ReduceOp.ArgMax),
  reduceKernel(tf.ArgMin, ReduceOp.ArgMin),
];
