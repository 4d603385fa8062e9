import { hasRowSlice, ROW_SLICE } from './row-slice.js';
import { getKernel, KernelBackend, KernelFunc, NamedAttrMap, NamedTensorInfoMap, registerKernel, TensorInfo } from '@tensorflow/tfjs-core';

/**
 * Calls a backend's own kernels from inside another kernel and keeps track of the
 * intermediates, so that a composite kernel runs on any backend and frees what it made.
 */
export class Primitives {
  private readonly owned: TensorInfo[] = [];
  constructor(private readonly backend: KernelBackend, private readonly backendName: string) {}

  run(kernelName: string, inputs: NamedTensorInfoMap, attrs: NamedAttrMap = {}): TensorInfo {
    const kernel = getKernel(kernelName, this.backendName);
    if (!kernel) throw new Error(`backend "${this.backendName}" has no ${kernelName} kernel, which the composite grouped-LoRA kernels need`);
    const out = kernel.kernelFunc({ inputs, attrs, backend: this.backend }) as TensorInfo;
    this.owned.push(out);
    return out;
  }
  matmul(a: TensorInfo, b: TensorInfo, transposeA = false, transposeB = false): TensorInfo {
    return this.run('BatchMatMul', { a, b }, { transposeA, transposeB });
  }
  scale(x: TensorInfo, s: number): TensorInfo {
    return s === 1 ? x : this.run('Multiply', { a: x, b: this.constant(new Float32Array([s]), []) });
  }
  add(a: TensorInfo, b: TensorInfo): TensorInfo {
    return this.run('Add', { a, b });
  }
  zeros(shape: number[]): TensorInfo {
    return this.constant(new Float32Array(shape.reduce((p, d) => p * d, 1)), shape);
  }
  concatRows(parts: TensorInfo[]): TensorInfo {
    // Every part is an intermediate of this kernel, so a single one can be the output itself.
    if (parts.length === 1) return parts[0];
    return this.run('Concat', parts as unknown as NamedTensorInfoMap, { axis: 0 });
  }
  constant(values: Float32Array | Int32Array, shape: number[], dtype: 'float32' | 'int32' = 'float32'): TensorInfo {
    const info = { dataId: this.backend.write(values, shape, dtype), shape, dtype };
    this.owned.push(info);
    return info;
  }
  transpose(x: TensorInfo): TensorInfo {
    return this.run('Transpose', { x }, { perm: [1, 0] });
  }
  reshape(x: TensorInfo, shape: number[]): TensorInfo {
    return this.run('Reshape', { x }, { shape });
  }
  concat(parts: TensorInfo[], axis: number): TensorInfo {
    return this.run('Concat', parts as unknown as NamedTensorInfoMap, { axis });
  }
  pad(x: TensorInfo, paddings: [number, number][]): TensorInfo {
    return this.run('PadV2', { x }, { paddings, constantValue: 0 });
  }
  multiply(a: TensorInfo, b: TensorInfo): TensorInfo {
    return this.run('Multiply', { a, b });
  }
  /** Rows [row, row + rows) of a 2-D float32 x, copying only those rows where the backend allows. */
  rows(x: TensorInfo, row: number, rows: number): TensorInfo {
    if (x.dtype === 'float32' && hasRowSlice(this.backendName)) return this.run(ROW_SLICE, { x }, { row, rows });
    return this.sliceBlock(x, [row, 0], [rows, x.shape[1]]);
  }
  sliceBlock(x: TensorInfo, begin: number[], size: number[]): TensorInfo {
    return this.run('Slice', { x }, { begin, size });
  }
  /**
   * Frees every intermediate except the kernel's outputs. By reference, not by data id: a
   * Reshape shares its input's data with one more reference, and each reference is released.
   */
  release(keep: TensorInfo[]): void {
    const kept = new Set(keep);
    for (const t of this.owned) if (!kept.has(t)) this.backend.disposeData(t.dataId);
  }

  /**
   * The backward kernels' outputs [dX, dA…, dB…]: adapters that got no rows get zero
   * gradients; every other intermediate is released.
   */
  gradients(dX: TensorInfo, dA: (TensorInfo | null)[], dB: (TensorInfo | null)[], ranks: readonly number[], dIn: number, dOut: number): TensorInfo[] {
    const outputs = [dX, ...dA.map((g, k) => g ?? this.zeros([dIn, ranks[k]])), ...dB.map((g, k) => g ?? this.zeros([ranks[k], dOut]))];
    this.release(outputs);
    return outputs;
  }
}

/** A kernel input that must be there. */
export function kernelInput(inputs: NamedTensorInfoMap, name: string): TensorInfo {
  const t = inputs[name];
  if (!t) throw new Error(`kernel input ${name} is missing`);
  return t;
}

/** [rows, cols] of a tensor seen as rows of its last axis. */
export function lastAxisRows(x: TensorInfo): [number, number] {
  const cols = x.shape[x.shape.length - 1] ?? 1;
  return [cols === 0 ? 0 : x.shape.reduce((a, b) => a * b, 1) / cols, cols];
}

/** Registers a kernel for a backend unless one is registered under that name already. */
export function registerOnce(kernelName: string, backendName: string, kernelFunc: KernelFunc): void {
  if (!getKernel(kernelName, backendName)) registerKernel({ kernelName, backendName, kernelFunc });
}
