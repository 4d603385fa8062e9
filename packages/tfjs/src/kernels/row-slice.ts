import { getKernel, KernelFunc, registerKernel, TensorInfo } from '@tensorflow/tfjs-core';
import type { CpuBackendLike, WasmBackendLike } from './host-backends.js';

/**
 * Rows [row, row + rows) of a 2-D float32 tensor, copied straight out of the backend's own
 * buffer. tfjs-wasm's Slice reads the whole input out of the heap on every call, so taking K
 * row blocks of a batch cost K whole copies; this copies only the rows. Registered for the
 * backends whose buffers it knows (wasm, cpu); elsewhere the composite kernels use Slice.
 */
export const ROW_SLICE = 'AltoRowSlice';



const wasmRowSlice: KernelFunc = ({ inputs, backend, attrs }) => {
  const x = inputs.x as TensorInfo;
  const { row, rows } = attrs as { row: number; rows: number };
  const d = x.shape[1];
  const b = backend as unknown as WasmBackendLike;
  const out = b.makeOutput([rows, d], 'float32');
  // read the source view after allocating: a heap growth would detach an earlier view
  b.typedArrayFromHeap(out).set(b.typedArrayFromHeap(x).subarray(row * d, (row + rows) * d));
  return out;
};

const cpuRowSlice: KernelFunc = ({ inputs, backend, attrs }) => {
  const x = inputs.x as TensorInfo;
  const { row, rows } = attrs as { row: number; rows: number };
  const d = x.shape[1];
  const b = backend as unknown as CpuBackendLike;
  const values = b.data.get(x.dataId).values.slice(row * d, (row + rows) * d);
  return b.makeTensorInfo([rows, d], 'float32', values);
};

const IMPLEMENTATIONS: Record<string, KernelFunc> = { wasm: wasmRowSlice, cpu: cpuRowSlice };

/** Whether a row slice that reads the buffer directly exists for the backend (registering it once). */
export function hasRowSlice(backendName: string): boolean {
  if (getKernel(ROW_SLICE, backendName)) return true;
  const kernelFunc = IMPLEMENTATIONS[backendName];
  if (!kernelFunc) return false;
  registerKernel({ kernelName: ROW_SLICE, backendName, kernelFunc });
  return true;
}

