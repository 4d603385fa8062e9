import * as tf from '@tensorflow/tfjs-core';
import { AdapterSlot, hashSeed, Rng, SegmentPlan } from '@alto/core';

/** Mean loss of each adapter over its own rows, as a [K] vector (0 for an adapter without rows). */
export function perAdapterMeans(perExample: tf.Tensor1D, plan: SegmentPlan): tf.Tensor1D {
  return tf.tidy(() => {
    const means = plan.adapters.map((_, a) => {
      const parts: tf.Tensor[] = [];
      for (let s = 0; s < plan.segmentAdapter.length; s++) {
        const len = plan.segmentOffsets[s + 1] - plan.segmentOffsets[s];
        if (plan.segmentAdapter[s] === a && len > 0) parts.push(tf.slice(perExample, plan.segmentOffsets[s], len));
      }
      // Slices, not a weighted sum over all rows: a NaN in one adapter must not reach another's loss.
      if (parts.length === 0) return tf.scalar(0);
      return tf.mean(parts.length === 1 ? parts[0] : tf.concat(parts));
    });
    return tf.stack(means) as tf.Tensor1D;
  });
}

/** LoRA-input dropout mask, drawn per adapter from its seed, its own step and the layer. */
export function dropoutMask(plan: SegmentPlan, slots: AdapterSlot<tf.Tensor>[], layer: string, rows: number, dIn: number, perExample: number): tf.Tensor2D | null {
  if (!slots.some((s) => s.config.dropout > 0)) return null;
  const mask = new Float32Array(rows * dIn).fill(1);
  const seen = new Map<number, number>();
  for (let s = 0; s < plan.segmentAdapter.length; s++) {
    const a = plan.segmentAdapter[s];
    if (a < 0) continue;
    const { dropout: p, seed } = slots[a].config;
    const k = seen.get(a) ?? 0;
    seen.set(a, k + 1);
    if (p === 0) continue;
    const rng = new Rng(hashSeed(seed, 'dropout', layer, slots[a].stepsDone, k));
    const keep = 1 / (1 - p);
    const end = plan.segmentOffsets[s + 1] * perExample * dIn;
    for (let i = plan.segmentOffsets[s] * perExample * dIn; i < end; i++) mask[i] = rng.next() < p ? 0 : keep;
  }
  return tf.tensor2d(mask, [rows, dIn]);
}

/** Reduces a per-example loss of shape [batch, …] to [batch], checking its shape. */
export function toPerExample(per: tf.Tensor, batch: number): tf.Tensor1D {
  if (per.rank === 0) throw new Error('the loss function must return one value per example (shape [batch] or [batch, …]), not a scalar');
  if (per.shape[0] !== batch) throw new Error(`the loss function returned ${per.shape[0]} values for ${batch} examples`);
  return (per.rank === 1 ? per : tf.mean(per, Array.from({ length: per.rank - 1 }, (_, i) => i + 1))) as tf.Tensor1D;
}
