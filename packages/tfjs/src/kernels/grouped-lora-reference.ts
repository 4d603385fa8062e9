import { KernelBackend, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { kernelInput, Primitives, registerOnce } from './primitives.js';
import { adapterInputName, GroupedLoraAttrs } from './plan-attrs.js';

/**
 * The reference grouped-LoRA kernels, written as a loop over segments that calls the
 * backend's own primitive kernels (row slices, 2-D BatchMatMul, Multiply, Add, Concat). They run on
 * any backend that has those kernels and are what every faster kernel is compared with.
 */
export const GROUPED_LORA_REFERENCE = 'AltoGroupedLoraReference';
export const GROUPED_LORA_REFERENCE_GRAD = 'AltoGroupedLoraReferenceGrad';


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
  const x = kernelInput(inputs, '0');
  const base = kernelInput(inputs, '1');
  const p = new Primitives(backend as KernelBackend, backendName);
  const parts = segments(a).map(({ adapter, row, rows }) => {
    const baseRows = p.rows(base, row, rows);
    if (adapter < 0) return baseRows;
    const S = p.matmul(p.rows(x, row, rows), kernelInput(inputs, adapterInputName('A', adapter, a.ranks.length)));
    const delta = p.matmul(S, kernelInput(inputs, adapterInputName('B', adapter, a.ranks.length)));
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
  const x = kernelInput(inputs, '0');
  const dy = kernelInput(inputs, '1');
  const K = a.ranks.length;
  const dIn = x.shape[1];
  const dOut = dy.shape[1];
  const p = new Primitives(backend as KernelBackend, backendName);
  const dA: (TensorInfo | null)[] = new Array(K).fill(null);
  const dB: (TensorInfo | null)[] = new Array(K).fill(null);
  const dxParts = segments(a).map(({ adapter, row, rows }) => {
    if (adapter < 0) return p.zeros([rows, dIn]);
    const A = kernelInput(inputs, adapterInputName('A', adapter, a.ranks.length));
    const B = kernelInput(inputs, adapterInputName('B', adapter, a.ranks.length));
    const s = a.scales[adapter];
    const xs = p.rows(x, row, rows);
    const dys = p.rows(dy, row, rows);
    // Transposes are explicit and applied to the small operands: a transposed operand in
    // BatchMatMul costs several times a plain one on tfjs-wasm.
    const S = p.matmul(xs, A);
    const dS = p.scale(p.matmul(dys, p.transpose(B)), s);
    const dSt = p.transpose(dS);
    const gA = p.transpose(p.matmul(dSt, xs)); // Xᵀ·dS = (dSᵀ·X)ᵀ
    const gB = p.scale(p.matmul(p.transpose(S), dys), s);
    dA[adapter] = dA[adapter] ? p.add(dA[adapter]!, gA) : gA;
    dB[adapter] = dB[adapter] ? p.add(dB[adapter]!, gB) : gB;
    return p.matmul(dS, p.transpose(A));
  });
  const dX = dxParts.length === 0 ? p.zeros([0, dIn]) : p.concatRows(dxParts);
  return p.gradients(dX, dA, dB, a.ranks, dIn, dOut);
};

/** Registers the reference kernels for a backend (once). */
export function ensureReferenceKernels(backendName: string): void {
  registerOnce(GROUPED_LORA_REFERENCE, backendName, forward(backendName));
  registerOnce(GROUPED_LORA_REFERENCE_GRAD, backendName, backward(backendName));
}
