import type { NamedAttrMap } from '@tensorflow/tfjs-core';
import type { SegmentPlan } from '@alto/core';

/**
 * A segment plan as tfjs kernel attributes (plain number arrays), so that a kernel and its
 * gradient receive the plan through the engine like any other attribute.
 */
export interface GroupedLoraAttrs {
  segmentOffsets: number[];
  segmentAdapter: number[];
  ranks: number[];
  scales: number[];
}

export function planToAttrs(plan: SegmentPlan): GroupedLoraAttrs & NamedAttrMap {
  return {
    segmentOffsets: Array.from(plan.segmentOffsets),
    segmentAdapter: Array.from(plan.segmentAdapter),
    ranks: plan.adapters.map((a) => a.rank),
    scales: plan.adapters.map((a) => a.scale),
  };
}

/**
 * Inputs of the grouped kernels are positional (the engine saves them all for the
 * gradient): [x, base, A0…A(K−1), B0…B(K−1)] forward, [x, dy, A…, B…] backward; `lead` is the
 * number of inputs before the weights (3 in the linear backward: [x, dy, W, A…, B…]).
 */
export const adapterInputName = (kind: 'A' | 'B', i: number, K: number, lead = 2): string => String(lead + (kind === 'A' ? 0 : K) + i);
