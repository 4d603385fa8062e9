import * as tf from '@tensorflow/tfjs-core';
import { AdapterBank, AdapterConfig, AdapterSlot, AdapterWeights, buildSegmentPlan, loraScale } from '@alto/core';
import type { BaseModel } from './model.js';
import { LayerBinding, withLoraScope } from './lora-scope.js';

/** Copies a resident adapter's weights to the host (reads the device, off the step loop). */
export async function captureWeights(slot: AdapterSlot<tf.Tensor>): Promise<AdapterWeights> {
  const out: AdapterWeights = {};
  for (const [layer, { A, B }] of slot.layers) {
    const [a, b] = await Promise.all([A.data(), B.data()]);
    out[layer] = {
      A: { shape: [...A.shape], data: Float32Array.from(a as Float32Array) },
      B: { shape: [...B.shape], data: Float32Array.from(b as Float32Array) },
    };
  }
  return out;
}

/** Sum of the elements of all tensors of the adapters, for memory accounting in tests. */
export const adapterParamCount = (bank: AdapterBank<tf.Tensor>): number =>
  bank.list().reduce((n, s) => n + AdapterBank.params(s).reduce((m, t) => m + t.size, 0), 0);

/**
 * Runs the base model with one adapter applied to every row: what inference with a trained
 * or loaded adapter looks like. Returns the model output.
 */
export function predictWithAdapter(model: BaseModel, weights: AdapterWeights, config: Pick<AdapterConfig, 'rank' | 'alpha'>, x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const rows = x.shape[0];
    const plan = buildSegmentPlan([{ adapter: { name: 'adapter', rank: config.rank, scale: loraScale(config) }, rows }]);
    const tensors = new Map(
      Object.entries(weights).map(([layer, { A, B }]) => [layer, { A: tf.tensor2d(A.data, A.shape as [number, number]), B: tf.tensor2d(B.data, B.shape as [number, number]) }]),
    );
    const scope = {
      layer(name: string): LayerBinding | null {
        const w = tensors.get(name);
        return w ? { plan, A: [w.A], B: [w.B] } : null;
      },
    };
    return withLoraScope(scope, () => model.forward(x));
  });
}
