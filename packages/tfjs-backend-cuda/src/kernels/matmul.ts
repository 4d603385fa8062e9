import * as tf from '@tensorflow/tfjs-core';
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { batchMatMulAny } from './composite.js';
import { cuda, kernel } from './kernel.js';

/** a·b over the leading (batch) dims through cuBLAS; see batchMatMulAny. */
export const matmulKernels: KernelConfig[] = [
  kernel(tf.BatchMatMul, ({ inputs, backend, attrs }) => {
    const { a, b } = inputs as { a: TensorInfo; b: TensorInfo };
    const { transposeA, transposeB } = attrs as unknown as { transposeA: boolean; transposeB: boolean };
    return batchMatMulAny(cuda(backend), a, b, transposeA, transposeB);
  }),
];
