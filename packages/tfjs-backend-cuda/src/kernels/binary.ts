import * as tf from '@tensorflow/tfjs-core';
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { BinaryOp } from '@alto/kernels';
import { elemOf, type CudaBackend } from '../backend.js';
import { cuda, kernel } from './kernel.js';
import { cast } from './layout.js';

/** Element strides of `shape` read as the right-aligned operand of an `out`-shaped result (0 where broadcast). */
export function broadcastStrides(shape: number[], out: number[]): number[] {
  const strides = new Array<number>(out.length).fill(0);
  let stride = 1;
  for (let i = shape.length - 1, j = out.length - 1; i >= 0; --i, --j) {
    strides[j] = shape[i] === 1 ? 0 : stride;
    stride *= shape[i];
  }
  return strides;
}

const COMPARISONS = new Set<number>([BinaryOp.Equal, BinaryOp.NotEqual, BinaryOp.Less, BinaryOp.LessEqual, BinaryOp.Greater, BinaryOp.GreaterEqual, BinaryOp.LogicalAnd, BinaryOp.LogicalOr]);

/** a op b with broadcasting, on the engine; comparisons and logic give bool. */
export function binary(backend: CudaBackend, op: number, a: TensorInfo, b: TensorInfo): TensorInfo {
  const shape = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
  const out = backend.makeOutput(shape, COMPARISONS.has(op) ? 'bool' : a.dtype);
  if (shape.length === 0) {  // scalars: a rank-1 view of one element
    backend.cuda.binary(op, elemOf(a.dtype), backend.ptr(a), [1], backend.ptr(b), [1], backend.ptr(out), [1]);
  } else {
    backend.cuda.binary(op, elemOf(a.dtype), backend.ptr(a), broadcastStrides(a.shape, shape), backend.ptr(b), broadcastStrides(b.shape, shape),
      backend.ptr(out), shape);
  }
  return out;
}

function binaryKernel(kernelName: string, op: number): KernelConfig {
  return kernel(kernelName, ({ inputs, backend }) => {
    const { a, b } = inputs as { a: TensorInfo; b: TensorInfo };
    const out = binary(cuda(backend), op, a, b);
    if (op !== BinaryOp.FloorDiv || out.dtype === 'int32') return out;
    const whole = cast(cuda(backend), out, 'int32');  // floorDiv gives int32 whatever its inputs, as tfjs
    cuda(backend).disposeIntermediate(out);
    return whole;
  });
}

export const binaryKernels: KernelConfig[] = [
  binaryKernel(tf.Add, BinaryOp.Add),
  binaryKernel(tf.Sub, BinaryOp.Sub),
  binaryKernel(tf.Multiply, BinaryOp.Mul),
  binaryKernel(tf.RealDiv, BinaryOp.Div),
  binaryKernel(tf.Maximum, BinaryOp.Max),
  binaryKernel(tf.Minimum, BinaryOp.Min),
  binaryKernel(tf.Pow, BinaryOp.Pow),
  binaryKernel(tf.SquaredDifference, BinaryOp.SquaredDiff),
  binaryKernel(tf.FloorDiv, BinaryOp.FloorDiv),
  binaryKernel(tf.Mod, BinaryOp.Mod),
  binaryKernel(tf.Atan2, BinaryOp.Atan2),
  binaryKernel(tf.Equal, BinaryOp.Equal),
  binaryKernel(tf.NotEqual, BinaryOp.NotEqual),
  binaryKernel(tf.Less, BinaryOp.Less),
  binaryKernel(tf.LessEqual, BinaryOp.LessEqual),
  binaryKernel(tf.Greater, BinaryOp.Greater),
  binaryKernel(tf.GreaterEqual, BinaryOp.GreaterEqual),
  binaryKernel(tf.LogicalAnd, BinaryOp.LogicalAnd),
  binaryKernel(tf.LogicalOr, BinaryOp.LogicalOr),
];
