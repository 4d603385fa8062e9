import { getKernel, KernelBackend, registerKernel, TensorInfo, NamedAttrMap, NamedTensorInfoMap, KernelFunc } from '@tensorflow/tfjs-core';
import { adapterInputName, GroupedLoraAttrs } from './plan-attrs.js';

/**
 * The reference grouped-LoRA kernels, written as a loop over segments that calls the
 * backend's own primitive kernels (Slice, BatchMatMul, Multiply, Add, Concat). They run on
 * any backend that has those kernels and are what every faster kernel is compared with.
 */
export const GROUPED_LORA_REFERENCE = 'AltoGroupedLoraReference';
export const GROUPED_LORA_REFERENCE_GRAD = 'AltoGroupedLoraReferenceGrad';

class Primitives {
  private readonly owned: TensorInfo[] = [];
  constructor(private readonly backend: KernelBackend, private readonly backendName: string) {}

  private run(kernelName: string, inputs: NamedTensorInfoMap, attrs: NamedAttrMap = {}): TensorInfo {
    const kernel = getKernel(kernelName, this.backendName);
    if (!kernel) throw new Error(`backend "${this.backendName}" has no ${kernelName} kernel, which the reference grouped-LoRA kernel needs`);
    const out = kernel.kernelFunc({ inputs, attrs, backend: this.backend }) as TensorInfo;
    this.owned.push(out);
    return out;
  }
  slice(x: TensorInfo, row: number, rows: number): TensorInfo {
    return this.run('Slice', { x }, { begin: [row, 0], size: [rows, x.shape[1]] });
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
  private constant(values: Float32Array, shape: number[]): TensorInfo {
    const info = { dataId: this.backend.write(values, shape, 'float32'), shape, dtype: 'float32' as const };
    this.owned.push(info);
    return info;
  }
  /** Frees every intermediate except the kernel's outputs. */
  release(keep: TensorInfo[]): void {
    const kept = new Set(keep.map((t) => t.dataId));
    for (const t of this.owned) if (!kept.has(t.dataId)) this.backend.disposeData(t.dataId);
  }
}

function input(inputs: NamedTensorInfoMap, name: string): TensorInfo {
  const t = inputs[name];
  if (!t) throw new Error(`grouped-LoRA kernel: input ${name} is missing`);
  return t;
}

function segments(attrs: GroupedLoraAttrs): { adapter: number; row: number; rows: number }[] {
  const out = [];
  for (let s = 0; s < attrs.segmentAdapter.length; s++) {
    out.push({ adapter: attrs.segmentAdapter[s], row: attrs.segmentOffsets[s], rows: attrs.segmentOffsets[s + 1] - attrs.segmentOffsets[s] });
  }
  return out.filter((s) => s.rows > 0);
}

/** Y = base + per segment s_a·(X_s·A_a)·B_a; rows of no adapter (−1) keep the base value. */
const forward: (backendName: string) => KernelFunc = (backendName) => ({ inputs, backend, attrs }) => {
  const a = attrs as unknown as GroupedLoraAttrs;
  const x = input(inputs, '0');
  const base = input(inputs, '1');
  const p = new Primitives(backend as KernelBackend, backendName);
  const parts = segments(a).map(({ adapter, row, rows }) => {
    const baseRows = p.slice(base, row, rows);
    if (adapter < 0) return baseRows;
    const S = p.matmul(p.slice(x, row, rows), input(inputs, adapterInputName('A', adapter, a.ranks.length)));
    const delta = p.matmul(S, input(inputs, adapterInputName('B', adapter, a.ranks.length)));
    return p.add(baseRows, p.scale(delta, a.scales[adapter]));
  });
  const y = parts.length === 0 ? p.zeros([0, base.shape[1]]) : p.concatRows(parts);
  p.release([y]);
  return y;
};

/**
 * Outputs [dX, dA0…dA(K−1), dB0…dB(K−1)] from inputs {x, dy, A*, B*}:
 * dS = s·dY·Bᵀ, dX = dS·Aᵀ, dA = Xᵀ·dS, dB = s·Sᵀ·dY, summed over an adapter's segments.
 */
const backward: (backendName: string) => KernelFunc = (backendName) => ({ inputs, backend, attrs }) => {
  const a = attrs as unknown as GroupedLoraAttrs;
  const x = input(inputs, '0');
  const dy = input(inputs, '1');
  const K = a.ranks.length;
  const dIn = x.shape[1];
  const dOut = dy.shape[1];
  const p = new Primitives(backend as KernelBackend, backendName);
  const dA: (TensorInfo | null)[] = new Array(K).fill(null);
  const dB: (TensorInfo | null)[] = new Array(K).fill(null);
  const dxParts = segments(a).map(({ adapter, row, rows }) => {
    if (adapter < 0) return p.zeros([rows, dIn]);
    const A = input(inputs, adapterInputName('A', adapter, a.ranks.length));
    const B = input(inputs, adapterInputName('B', adapter, a.ranks.length));
    const s = a.scales[adapter];
    const xs = p.slice(x, row, rows);
    const dys = p.slice(dy, row, rows);
    const S = p.matmul(xs, A);
    const dS = p.scale(p.matmul(dys, B, false, true), s);
    const gA = p.matmul(xs, dS, true, false);
    const gB = p.scale(p.matmul(S, dys, true, false), s);
    dA[adapter] = dA[adapter] ? p.add(dA[adapter]!, gA) : gA;
    dB[adapter] = dB[adapter] ? p.add(dB[adapter]!, gB) : gB;
    return p.matmul(dS, A, false, true);
  });
  const dX = dxParts.length === 0 ? p.zeros([0, dIn]) : p.concatRows(dxParts);
  for (let i = 0; i < K; i++) {
    dA[i] ??= p.zeros([dIn, a.ranks[i]]);
    dB[i] ??= p.zeros([a.ranks[i], dOut]);
  }
  const outputs = [dX, ...(dA as TensorInfo[]), ...(dB as TensorInfo[])];
  p.release(outputs);
  return outputs;
};

/** Registers the reference kernels for a backend (once). */
export function ensureReferenceKernels(backendName: string): void {
  if (!getKernel(GROUPED_LORA_REFERENCE, backendName)) {
    registerKernel({ kernelName: GROUPED_LORA_REFERENCE, backendName, kernelFunc: forward(backendName) });
  }
  if (!getKernel(GROUPED_LORA_REFERENCE_GRAD, backendName)) {
    registerKernel({ kernelName: GROUPED_LORA_REFERENCE_GRAD, backendName, kernelFunc: backward(backendName) });
  }
}
