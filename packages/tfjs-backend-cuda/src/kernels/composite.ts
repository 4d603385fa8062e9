import * as tf from '@tensorflow/tfjs-core';
import type { DataType, KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { BinaryOp } from '@alto/kernels';
import { cuda, kernel } from './kernel.js';
import { elemOf, type CudaBackend } from '../backend.js';
import { binary } from './binary.js';
import { slice } from './data.js';
import { cast, fill, reshape } from './layout.js';

// Kernels made of the engine's primitives (and Range, made on the host: it has no input).

/** The values tfjs's cpu backend gives for range(start, stop, step). */
export function rangeValues(start: number, stop: number, step: number, dtype: 'float32' | 'int32'): Float32Array | Int32Array {
  const make = (n: number) => (dtype === 'int32' ? new Int32Array(n) : new Float32Array(n));
  if (start === stop || (start < stop && step < 0) || (stop < start && step > 1)) return make(0);
  const values = make(Math.abs(Math.ceil((stop - start) / step)));
  if (stop < start && step === 1) step = -1;
  if (values.length > 0) values[0] = start;
  for (let i = 1; i < values.length; ++i) values[i] = values[i - 1] + step;
  return values;
}

const scalar = (backend: CudaBackend, value: number, dtype: DataType) => fill(backend, [], dtype, value);

export const compositeKernels: KernelConfig[] = [
  kernel(tf.ExpandDims, ({ inputs, backend, attrs }) => {
    const { input } = inputs as { input: TensorInfo };
    const rank = input.shape.length;
    let axis = attrs!.dim as number;
    if (axis < 0) {
      tf.util.assert(-(rank + 1) <= axis, () => `Axis must be in the interval [${-(rank + 1)}, ${rank}]`);
      axis = rank + axis + 1;
    }
    return reshape(cuda(backend), input, [...input.shape.slice(0, axis), 1, ...input.shape.slice(axis)]);
  }),
  kernel(tf.Range, ({ backend, attrs }) => {
    const { start, stop, step, dtype } = attrs as unknown as { start: number; stop: number; step: number; dtype: 'float32' | 'int32' };
    const values = rangeValues(start, stop, step, dtype);
    const b = cuda(backend);
    return { dataId: b.write(values, [values.length], dtype), shape: [values.length], dtype };
  }),
  kernel(tf.SplitV, ({ inputs, backend, attrs }) => {
    const { x } = inputs as { x: TensorInfo };
    const { numOrSizeSplits, axis } = attrs as unknown as { numOrSizeSplits: number | number[]; axis: number };
    const ax = tf.util.parseAxisParam(axis, x.shape)[0];
    const sizes = tf.backend_util.prepareSplitSize(x as tf.Tensor, numOrSizeSplits, ax);
    const begin = new Array<number>(x.shape.length).fill(0);
    return sizes.map((s) => {
      const size = [...x.shape];
      size[ax] = s;
      const out = slice(cuda(backend), x, [...begin], size);
      begin[ax] += s;
      return out;
    });
  }),
  kernel(tf.Unpack, ({ inputs, backend, attrs }) => {
    // One slice per index along the axis, each viewed without that axis (the gradient of stack).
    const { value } = inputs as { value: TensorInfo };
    const b = cuda(backend);
    const ax = tf.util.parseAxisParam(attrs!.axis as number, value.shape)[0];
    const size = [...value.shape];
    size[ax] = 1;
    const shape = value.shape.filter((_, d) => d !== ax);
    return Array.from({ length: value.shape[ax] }, (_, i) => {
      const begin = value.shape.map((_, d) => (d === ax ? i : 0));
      const part = slice(b, value, begin, size);
      const out = reshape(b, part, shape);
      b.disposeIntermediate(part);
      return out;
    });
  }),
  kernel(tf.Prelu, ({ inputs, backend }) => {
    // x ≥ 0: x; x < 0: alpha·x, as max(x, 0) + alpha·min(x, 0).
    // float32 whatever the inputs, as tfjs's cpu backend.
    const b = cuda(backend);
    const temps: TensorInfo[] = [];
    let { x, alpha } = inputs as { x: TensorInfo; alpha: TensorInfo };
    if (x.dtype !== 'float32') temps.push((x = cast(b, x, 'float32')));
    if (alpha.dtype !== 'float32') temps.push((alpha = cast(b, alpha, 'float32')));
    const zero = scalar(b, 0, 'float32');
    const pos = binary(b, BinaryOp.Max, x, zero), neg = binary(b, BinaryOp.Min, x, zero);
    const scaled = binary(b, BinaryOp.Mul, alpha, neg);
    const out = binary(b, BinaryOp.Add, pos, scaled);
    for (const t of [...temps, zero, pos, neg, scaled]) b.disposeIntermediate(t);
    return out;
  }),
  kernel(tf.EluGrad, ({ inputs, backend }) => {
    // dx = dy·(y + 1) where y < 0, dy elsewhere.
    const { dy, y } = inputs as { dy: TensorInfo; y: TensorInfo };
    const b = cuda(backend);
    const zero = scalar(b, 0, 'float32'), one = scalar(b, 1, 'float32');
    const below = binary(b, BinaryOp.Less, y, zero), yp1 = binary(b, BinaryOp.Add, y, one), scaled = binary(b, BinaryOp.Mul, dy, yp1);
    const out = b.makeOutput(dy.shape, 'float32');
    b.cuda.select(elemOf('float32'), b.ptr(below), b.ptr(scaled), b.ptr(dy), b.ptr(out), tf.util.sizeFromShape(dy.shape));
    for (const t of [zero, one, below, yp1, scaled]) b.disposeIntermediate(t);
    return out;
  }),
];
