import * as tf from '@tensorflow/tfjs-core';
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { MatmulPrecision } from '@alto/kernels';
import { bytesOf, type CudaBackend } from '../backend.js';
import { stridesOf } from './data.js';
import { cuda, kernel } from './kernel.js';
import { cast } from './layout.js';

/** `x` copied out to the full batch shape (a batch of `batch` matrices) when it broadcasts. */
function fullBatch(backend: CudaBackend, x: TensorInfo, batchShape: number[]): TensorInfo {
  const shape = [...batchShape, ...x.shape.slice(-2)];
  const out = backend.makeOutput(shape, x.dtype);
  const xs = stridesOf(x.shape);
  const src = shape.map((_, d) => {
    const j = d - (shape.length - x.shape.length);
    return j < 0 || (x.shape[j] === 1 && shape[d] !== 1) ? 0 : xs[j];
  });
  backend.cuda.copyBox(bytesOf(x.dtype), backend.ptr(x), 0, src, backend.ptr(out), 0, stridesOf(shape), shape);
  return out;
}

/** a·b with any broadcast of the batch dims; int32 operands go through float32 (exact below 2^24). */
export function batchMatMulAny(backend: CudaBackend, a: TensorInfo, b: TensorInfo, transposeA: boolean, transposeB: boolean): TensorInfo {
  const temps: TensorInfo[] = [];
  const dtype = a.dtype;
  // a's bf16 copy, where the kernel that made a wrote one (a as given: a cast or broadcast copy has none).
  const aBf16 = backend.bf16CopyOf(a);
  if (a.dtype !== 'float32') temps.push((a = cast(backend, a, 'float32')));
  if (b.dtype !== 'float32') temps.push((b = cast(backend, b, 'float32')));
  const ra = a.shape.length, rb = b.shape.length;
  const m = transposeA ? a.shape[ra - 1] : a.shape[ra - 2], k = transposeA ? a.shape[ra - 2] : a.shape[ra - 1];
  const kb = transposeB ? b.shape[rb - 1] : b.shape[rb - 2], n = transposeB ? b.shape[rb - 2] : b.shape[rb - 1];
  if (k !== kb) throw new Error(`BatchMatMul: inner dimensions differ (${a.shape} · ${b.shape}, transposeA ${transposeA}, transposeB ${transposeB})`);
  const batchShape = tf.backend_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const batch = tf.util.sizeFromShape(batchShape);
  if (![1, batch].includes(tf.util.sizeFromShape(a.shape.slice(0, -2)))) temps.push((a = fullBatch(backend, a, batchShape)));
  if (![1, batch].includes(tf.util.sizeFromShape(b.shape.slice(0, -2)))) temps.push((b = fullBatch(backend, b, batchShape)));
  const batchA = tf.util.sizeFromShape(a.shape.slice(0, -2)), batchB = tf.util.sizeFromShape(b.shape.slice(0, -2));
  const out = backend.makeOutput([...batchShape, m, n], 'float32');
  backend.cuda.matmul(MatmulPrecision[backend.options.matmulPrecision], batch, m, n, k, backend.ptr(a), batchA === 1 ? 0 : m * k, transposeA,
    backend.ptr(b), batchB === 1 ? 0 : k * n, transposeB, backend.ptr(out), false, temps.some((t) => t === a) ? 0 : aBf16);
  for (const t of temps) backend.disposeIntermediate(t);
  if (dtype === 'float32') return out;
  const typed = cast(backend, out, dtype);
  backend.disposeIntermediate(out);
  return typed;
}

export const matmulKernels: KernelConfig[] = [
  kernel(tf.BatchMatMul, ({ inputs, backend, attrs }) => {
    const { a, b } = inputs as { a: TensorInfo; b: TensorInfo };
    const { transposeA, transposeB } = attrs as unknown as { transposeA: boolean; transposeB: boolean };
    return batchMatMulAny(cuda(backend), a, b, transposeA, transposeB);
  }),
];
