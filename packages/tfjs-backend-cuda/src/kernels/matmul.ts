import * as tf from '@tensorflow/tfjs-core';
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { MatmulPrecision } from '@alto/kernels';
import type { CudaBackend } from '../backend.js';

/** a·b over the leading (batch) dims, through cuBLAS; a batch of one broadcasts. */
export function batchMatMul(backend: CudaBackend, a: TensorInfo, b: TensorInfo, transposeA: boolean, transposeB: boolean): TensorInfo {
  if (a.dtype !== 'float32' || b.dtype !== 'float32') throw new TypeError(`BatchMatMul on the CUDA backend takes float32 (got ${a.dtype}, ${b.dtype})`);
  const ra = a.shape.length, rb = b.shape.length;
  const m = transposeA ? a.shape[ra - 1] : a.shape[ra - 2], k = transposeA ? a.shape[ra - 2] : a.shape[ra - 1];
  const kb = transposeB ? b.shape[rb - 1] : b.shape[rb - 2], n = transposeB ? b.shape[rb - 2] : b.shape[rb - 1];
  if (k !== kb) throw new Error(`BatchMatMul: inner dimensions differ (${a.shape} · ${b.shape}, transposeA ${transposeA}, transposeB ${transposeB})`);
  const batchShape = tf.backend_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const batch = tf.util.sizeFromShape(batchShape), batchA = tf.util.sizeFromShape(a.shape.slice(0, -2)), batchB = tf.util.sizeFromShape(b.shape.slice(0, -2));
  if ((batchA !== batch && batchA !== 1) || (batchB !== batch && batchB !== 1)) {
    throw new Error(`BatchMatMul on the CUDA backend broadcasts a batch of one only (batch shapes ${a.shape.slice(0, -2)} and ${b.shape.slice(0, -2)})`);
  }
  const out = backend.makeOutput([...batchShape, m, n], 'float32');
  backend.cuda.matmul(MatmulPrecision[backend.options.matmulPrecision], batch, m, n, k, backend.ptr(a), batchA === 1 ? 0 : m * k, transposeA,
    backend.ptr(b), batchB === 1 ? 0 : k * n, transposeB, backend.ptr(out));
  return out;
}

export const matmulKernels: KernelConfig[] = [
  {
    kernelName: tf.BatchMatMul,
    backendName: '',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { a, b } = inputs as { a: TensorInfo; b: TensorInfo };
      const { transposeA, transposeB } = attrs as unknown as { transposeA: boolean; transposeB: boolean };
      return batchMatMul(backend as CudaBackend, a, b, transposeA, transposeB);
    },
  },
];
