import { KernelBackend, KernelFunc, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs-core';
import { adapterInputName, GroupedLoraAttrs } from './plan-attrs.js';
import { kernelInput, Primitives, registerOnce } from './primitives.js';

/**
 * Grouped LoRA as batched matmuls from the backend's primitive kernels. Consecutive segments
 * of equal length whose adapters differ form a run; a run's rows are one contiguous block, so
 * a Reshape (no copy) makes it [K_run, L, d], and shrink, expand and each gradient are one
 * BatchMatMul per run against the run's weights stacked as [K_run, d_in, r_max] and
 * [K_run, r_max, d_out] (ranks padded with zeros, which add nothing). The trainer orders
 * segments by batch size, so a step has one run per distinct batch size, whatever K is.
 *
 * Example: segments (adapter, rows) = (a, 4) (b, 4) (c, 8) (−, 2) (d, 8)
 *   runs:  rows 0–7  [a b] L = 4  → one [2, 4, d] block
 *          rows 8–15 [c]   L = 8  → [1, 8, d]
 *          rows 16–17 no adapter → base rows unchanged
 *          rows 18–25 [d]   L = 8  → [1, 8, d]   (not merged with c: not adjacent)
 */
export const GROUPED_LORA_BATCHED = 'AltoGroupedLoraBatched';
export const GROUPED_LORA_BATCHED_GRAD = 'AltoGroupedLoraBatchedGrad';

interface Run {
  /** First row and row count of the block. */
  row: number;
  rows: number;
  /** Adapters of the run in row order; empty for rows without LoRA. */
  adapters: number[];
  L: number;
}

export function runsOf(a: GroupedLoraAttrs): Run[] {
  const runs: Run[] = [];
  for (let s = 0; s < a.segmentAdapter.length; s++) {
    const row = a.segmentOffsets[s];
    const len = a.segmentOffsets[s + 1] - row;
    const owner = a.segmentAdapter[s];
    if (len === 0) continue;
    const last = runs[runs.length - 1];
    if (owner >= 0 && last && last.adapters.length > 0 && last.L === len && last.row + last.rows === row && !last.adapters.includes(owner)) {
      last.adapters.push(owner);
      last.rows += len;
    } else runs.push({ row, rows: len, adapters: owner >= 0 ? [owner] : [], L: len });
  }
  return runs;
}


/** The run's weights stacked as [K, d_in, r] and [K, r, d_out], r the run's largest rank. */
function stack(p: Primitives, inputs: NamedTensorInfoMap, a: GroupedLoraAttrs, run: Run, dIn: number, dOut: number) {
  const K = a.ranks.length;
  const r = Math.max(...run.adapters.map((k) => a.ranks[k]));
  const As = run.adapters.map((k) => {
    const A = kernelInput(inputs, adapterInputName('A', k, K));
    return a.ranks[k] === r ? A : p.pad(A, [[0, 0], [0, r - a.ranks[k]]]);
  });
  const Bs = run.adapters.map((k) => {
    const B = kernelInput(inputs, adapterInputName('B', k, K));
    return a.ranks[k] === r ? B : p.pad(B, [[0, r - a.ranks[k]], [0, 0]]);
  });
  const n = run.adapters.length;
  return {
    r,
    A: p.reshape(n === 1 ? As[0] : p.concat(As, 0), [n, dIn, r]),
    B: p.reshape(n === 1 ? Bs[0] : p.concat(Bs, 0), [n, r, dOut]),
    scale: p.constant(Float32Array.from(run.adapters, (k) => a.scales[k]), [n, 1, 1]),
  };
}

/** The run's rows of x as a [K_run, L, d] block (a view when the run covers all of x). */
function block(p: Primitives, x: TensorInfo, run: Run): TensorInfo {
  const d = x.shape[1];
  const rows = run.rows === x.shape[0] ? x : p.rows(x, run.row, run.rows);
  return p.reshape(rows, [run.adapters.length, run.L, d]);
}

const forward: (backendName: string) => KernelFunc = (backendName) => ({ inputs, backend, attrs }) => {
  const a = attrs as unknown as GroupedLoraAttrs;
  const x = kernelInput(inputs, '0');
  const base = kernelInput(inputs, '1');
  const dIn = x.shape[1];
  const dOut = base.shape[1];
  const p = new Primitives(backend as KernelBackend, backendName);
  const parts = runsOf(a).map((run) => {
    if (run.adapters.length === 0) return p.zeros([run.rows, dOut]);
    const w = stack(p, inputs, a, run, dIn, dOut);
    const Y = p.multiply(p.matmul(p.matmul(block(p, x, run), w.A), w.B), w.scale);
    return p.reshape(Y, [run.rows, dOut]);
  });
  const delta = parts.length === 0 ? p.zeros([0, dOut]) : parts.length === 1 ? parts[0] : p.concat(parts, 0);
  const y = p.add(base, delta);
  p.release([y]);
  return y;
};

const backward: (backendName: string) => KernelFunc = (backendName) => ({ inputs, backend, attrs }) => {
  const a = attrs as unknown as GroupedLoraAttrs;
  const x = kernelInput(inputs, '0');
  const dy = kernelInput(inputs, '1');
  const dIn = x.shape[1];
  const dOut = dy.shape[1];
  const K = a.ranks.length;
  const p = new Primitives(backend as KernelBackend, backendName);
  const dA: (TensorInfo | null)[] = new Array(K).fill(null);
  const dB: (TensorInfo | null)[] = new Array(K).fill(null);
  const dxParts = runsOf(a).map((run) => {
    if (run.adapters.length === 0) return p.zeros([run.rows, dIn]);
    const w = stack(p, inputs, a, run, dIn, dOut);
    const X = block(p, x, run);
    const dY = block(p, dy, run);
    const S = p.matmul(X, w.A);
    const dS = p.multiply(p.matmul(dY, w.B, false, true), w.scale);
    const gA = p.matmul(X, dS, true, false); // [n, d_in, r]
    const gB = p.multiply(p.matmul(S, dY, true, false), w.scale); // [n, r, d_out]
    run.adapters.forEach((k, i) => {
      const r = a.ranks[k];
      const ga = p.reshape(p.sliceBlock(gA, [i, 0, 0], [1, dIn, r]), [dIn, r]);
      const gb = p.reshape(p.sliceBlock(gB, [i, 0, 0], [1, r, dOut]), [r, dOut]);
      dA[k] = dA[k] ? p.add(dA[k]!, ga) : ga;
      dB[k] = dB[k] ? p.add(dB[k]!, gb) : gb;
    });
    return p.reshape(p.matmul(dS, w.A, false, true), [run.rows, dIn]);
  });
  const dX = dxParts.length === 0 ? p.zeros([0, dIn]) : dxParts.length === 1 ? dxParts[0] : p.concat(dxParts, 0);
  return p.gradients(dX, dA, dB, a.ranks, dIn, dOut);
};

/** Registers the batched kernels for a backend (once). */
export function ensureBatchedKernels(backendName: string): void {
  registerOnce(GROUPED_LORA_BATCHED, backendName, forward(backendName));
  registerOnce(GROUPED_LORA_BATCHED_GRAD, backendName, backward(backendName));
}
