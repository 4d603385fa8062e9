import * as tf from '@tensorflow/tfjs-core';
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import type { CudaBackend } from '../backend.js';
import { batchMatMulAny } from './composite.js';

/** a·b over the leading (batch) dims through cuBLAS; see batchMatMulAny. */
export const matmulKernels: KernelConfig[] = [
  {
    kernelName: tf.BatchMatMul,
    backendName: '',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { a, b } = inputs as { a: TensorInfo; b: TensorInfo };
      const { transposeA, transposeB } = attrs as unknown as { transposeA: boolean; transposeB: boolean };
      const out = batchMatMulAny(backend as CudaBackend, a, b, transposeA, transposeB);
      return out;
    },
  },
];
