import type { TensorInfo } from '@tensorflow/tfjs-core';

/** The parts of tfjs-backend-wasm the kernels that read its heap directly rely on. */
export interface WasmBackendLike {
  typedArrayFromHeap(t: TensorInfo): Float32Array;
  makeOutput(shape: number[], dtype: 'float32'): TensorInfo;
}

/** The parts of tfjs-backend-cpu the kernels that read its arrays directly rely on. */
export interface CpuBackendLike {
  data: { get(dataId: object): { values: Float32Array } };
  makeTensorInfo(shape: number[], dtype: 'float32', values: Float32Array): TensorInfo;
}

/** The parts of the tfjs CUDA backend (@alto/tfjs-backend-cuda) the device kernels rely on. */
export interface CudaBackendLike {
  cuda: import('@alto/kernels').CudaEngine;
  options: { matmulPrecision: 'fp32' | 'tf32' | 'bf16' };
  ptr(t: TensorInfo): number;
  makeOutput(shape: number[], dtype: 'float32'): TensorInfo;
  /** Tensors sharing the data (1: only the one holding it). */
  refCount(dataId: object): number;
  incRef(dataId: object): void;
  /** Memory for a bf16 copy of `t` that the calling kernel writes with it, under bf16 matmuls (0: none). */
  bf16CopyTarget?(t: TensorInfo): number;
  /** The held bf16 copy of `t`'s data, still current (0: none). */
  bf16CopyOf?(t: TensorInfo): number;
}

/** The name @alto/tfjs-backend-cuda registers its backend under. */
export const CUDA_BACKEND_NAME = 'alto-cuda';
