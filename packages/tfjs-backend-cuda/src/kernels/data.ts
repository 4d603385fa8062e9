import * as tf from '@tensorflow/tfjs-core';
import type { DataType, KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { cuda, kernel } from './kernel.js';
import { bytesOf, elemOf, type CudaBackend } from '../backend.js';
import { fill, reshape } from './layout.js';

/** Row-major element strides of a shape. */
export function stridesOf(shape: number[]): number[] {
  const out = new Array<number>(shape.length);
  for (let d = shape.length - 1, s = 1; d >= 0; --d) {
    out[d] = s;
    s *= shape[d];
  }
  return out;
}

/** Copies all of `src` into `dst` at element offset `at` with dst's strides (shapes of equal rank). */
function copyInto(backend: CudaBackend, src: TensorInfo, dst: TensorInfo, at: number, dstStrides: number[]): void {
  if (tf.util.sizeFromShape(src.shape) === 0) return;
  const rank = Math.max(1, src.shape.length);
  const size = src.shape.length ? src.shape : [1];
  backend.cuda.copyBox(bytesOf(src.dtype), backend.ptr(src), 0, src.shape.length ? stridesOf(src.shape) : [1], backend.ptr(dst), at,
    src.shape.length ? dstStrides : [1], size.slice(0, rank));
}

export function slice(backend: CudaBackend, x: TensorInfo, begin: number[], size: number[]): TensorInfo {
  const out = backend.makeOutput(size, x.dtype);
  if (tf.util.sizeFromShape(size) === 0) return out;
  const strides = stridesOf(x.shape);
  const offset = begin.reduce((acc, b, d) => acc + b * strides[d], 0);
  backend.cuda.copyBox(bytesOf(x.dtype), backend.ptr(x), offset, strides, backend.ptr(out), 0, stridesOf(size), size);
  return out;
}

export function concat(backend: CudaBackend, inputs: TensorInfo[], axis: number): TensorInfo {
  const shape = tf.backend_util.computeOutShape(inputs.map((t) => t.shape), axis);
  const dtype = inputs[0].dtype;
  const out = backend.makeOutput(shape, dtype);
  const strides = stridesOf(shape);
  let at = 0;
  for (const t of inputs) {
    copyInto(backend, t, out, at * (strides[axis] ?? 1), strides);
    at += t.shape[axis];
  }
  return out;
}


export const dataKernels: KernelConfig[] = [
  kernel(tf.Slice, ({ inputs, backend, attrs }) => {
    const { x } = inputs as { x: TensorInfo };
    const [begin, size] = tf.slice_util.parseSliceParams(x as tf.Tensor, attrs!.begin as number[], attrs!.size as number[]);
    tf.slice_util.assertParamsValid(x as tf.Tensor, begin, size);
    return slice(cuda(backend), x, begin, size);
  }),
  kernel(tf.Concat, ({ inputs, backend, attrs }) => {
    const list = inputs as unknown as TensorInfo[];
    const axis = tf.util.parseAxisParam(attrs!.axis as number, list[0].shape)[0];
    tf.backend_util.assertParamsConsistent(list.map((t) => t.shape), axis);
    return concat(cuda(backend), list, axis);
  }),
  kernel(tf.Pack, ({ inputs, backend, attrs }) => {
    const list = inputs as unknown as TensorInfo[];
    const b = cuda(backend);
    for (const t of list) {
      tf.util.assert(t.dtype === list[0].dtype, () => 'All tensors passed to stack must have matching dtypes');
      tf.util.assertShapesMatch(list[0].shape, t.shape, 'All tensors passed to stack must have matching shapes');
    }
    const axis = tf.util.parseAxisParam(attrs!.axis as number, [...list[0].shape, 1])[0];
    const expanded = list.map((t) => reshape(b, t, [...t.shape.slice(0, axis), 1, ...t.shape.slice(axis)]));
    const out = concat(b, expanded, axis);
    for (const t of expanded) b.disposeIntermediate(t);
    return out;
  }),
  kernel(tf.Tile, ({ inputs, backend, attrs }) => {
    const { x } = inputs as { x: TensorInfo };
    const reps = attrs!.reps as number[];
    const b = cuda(backend);
    // out viewed as [reps0, x0, reps1, x1, …]; the source repeats along the reps dims.
    const shape = x.shape.map((s, d) => s * reps[d]);
    const out = b.makeOutput(shape, x.dtype);
    if (tf.util.sizeFromShape(shape) === 0) return out;
    const xs = stridesOf(x.shape), os = stridesOf(shape);
    const size = x.shape.flatMap((s, d) => [reps[d], s]);
    const src = x.shape.flatMap((_, d) => [0, xs[d]]);
    const dst = x.shape.flatMap((s, d) => [s * os[d], os[d]]);
    if (size.length > 12) throw new Error('Tile on the CUDA backend supports rank ≤ 6');
    b.cuda.copyBox(bytesOf(x.dtype), b.ptr(x), 0, src, b.ptr(out), 0, dst, size);
    return out;
  }),
  kernel(tf.PadV2, ({ inputs, backend, attrs }) => {
    const { x } = inputs as { x: TensorInfo };
    const { paddings, constantValue } = attrs as unknown as { paddings: Array<[number, number]>; constantValue: number };
    const b = cuda(backend);
    const shape = x.shape.map((s, d) => paddings[d][0] + s + paddings[d][1]);
    const out = fill(b, shape, x.dtype, constantValue);
    const strides = stridesOf(shape);
    copyInto(b, x, out, paddings.reduce((acc, [lo], d) => acc + lo * strides[d], 0), strides);
    return out;
  }),
  kernel(tf.GatherV2, ({ inputs, backend, attrs }) => {
    const { x, indices } = inputs as { x: TensorInfo; indices: TensorInfo };
    const { axis, batchDims } = attrs as unknown as { axis: number; batchDims: number };
    if (indices.dtype !== 'int32') throw new TypeError(`GatherV2 indices must be int32 (got ${indices.dtype})`);
    const b = cuda(backend);
    const ax = tf.util.parseAxisParam(axis, x.shape)[0];
    // Checks the attributes as tfjs does (its messages) and gives the batched view.
    const info = tf.backend_util.segment_util.collectGatherOpShapeInfo(x as tf.Tensor, indices as tf.Tensor, ax, batchDims ?? 0);
    // Indices known on the host are checked as the cpu backend does; indices computed on the
    // device are not read back for it, and one out of range gathers zeros there.
    const known = b.hostValues(indices) as Int32Array | undefined;
    if (known) {
      const bad = known.find((v) => v < 0 || v >= info.dimSize);
      if (bad !== undefined) throw new Error(`GatherV2: the index value ${bad} is not in [0, ${info.dimSize - 1}]`);
    }
    const out = b.makeOutput(info.outputShape, x.dtype);
    b.cuda.gather(bytesOf(x.dtype), b.ptr(x), b.ptr(indices), b.ptr(out), info.batchSize, info.outerSize, info.dimSize, info.sliceSize,
      tf.util.sizeFromShape(indices.shape) / Math.max(1, info.batchSize));
    return out;
  }),
  kernel(tf.UnsortedSegmentSum, ({ inputs, backend, attrs }) => {
    const { x, segmentIds } = inputs as { x: TensorInfo; segmentIds: TensorInfo };
    const numSegments = attrs!.numSegments as number;
    const b = cuda(backend);
    const rows = tf.util.sizeFromShape(segmentIds.shape), inner = rows === 0 ? 0 : tf.util.sizeFromShape(x.shape) / rows;
    const out = b.makeOutput([numSegments, ...x.shape.slice(segmentIds.shape.length)], x.dtype);
    b.cuda.segmentSum(elemOf(x.dtype), b.ptr(x), b.ptr(segmentIds), b.ptr(out), rows, inner, numSegments);
    return out;
  }),
  kernel(tf.OneHot, ({ inputs, backend, attrs }) => {
    const { indices } = inputs as { indices: TensorInfo };
    const { depth, onValue, offValue, dtype } = attrs as unknown as { depth: number; onValue: number; offValue: number; dtype: DataType };
    const b = cuda(backend);
    const out = b.makeOutput([...indices.shape, depth], dtype ?? 'int32');
    b.cuda.oneHot(elemOf(out.dtype), b.ptr(indices), b.ptr(out), tf.util.sizeFromShape(indices.shape), depth, onValue, offValue);
    return out;
  }),
  ...(['Cumsum', 'Cumprod'] as const).map((name) =>
    kernel(tf[name], ({ inputs, backend, attrs }) => {
      const { x } = inputs as { x: TensorInfo };
      const { axis, exclusive, reverse } = attrs as unknown as { axis: number; exclusive: boolean; reverse: boolean };
      const b = cuda(backend);
      const ax = tf.util.parseAxisParam(axis, x.shape)[0];
      const out = b.makeOutput(x.shape, x.dtype);
      b.cuda.scan(elemOf(x.dtype), name === 'Cumprod', b.ptr(x), b.ptr(out), tf.util.sizeFromShape(x.shape.slice(0, ax)), x.shape[ax] ?? 1,
        tf.util.sizeFromShape(x.shape.slice(ax + 1)), exclusive, reverse);
      return out;
    })),
  kernel(tf.Softmax, ({ inputs, backend, attrs }) => {
    const { logits } = inputs as { logits: TensorInfo };
    const dim = attrs!.dim as number;
    const rank = logits.shape.length;
    if (dim !== -1 && dim !== rank - 1) throw new Error(`Softmax on the CUDA backend runs over the last axis only (dim ${dim}, rank ${rank})`);
    const b = cuda(backend);
    const out = b.makeOutput(logits.shape, 'float32');
    const inner = logits.shape[rank - 1] ?? 1;
    b.cuda.softmax(b.ptr(logits), b.ptr(out), inner === 0 ? 0 : tf.util.sizeFromShape(logits.shape) / inner, inner, false);
    return out;
  }),
];
