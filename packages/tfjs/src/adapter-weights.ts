import * as tf from '@tensorflow/tfjs-core';
import { AdapterConfig, AdapterSlot, AdapterWeights, buildSegmentPlan, loraScale } from '@alto/core';
import { readAll } from './host-state.js';
import type { BaseModel } from './model.js';
import { LayerBinding, LoraScope, withLoraScope } from './lora-scope.js';

/** Copies an adapter's weights to the host in one device read (off the step loop). */
export async function captureWeights(slot: AdapterSlot<tf.Tensor>): Promise<AdapterWeights> {
  return layersToHost(slot.layers);
}

/** LoRA pairs by layer, on the host in one device read (`inTurn`: as readAll's). */
export async function layersToHost(layers: ReadonlyMap<string, { A: tf.Tensor; B: tf.Tensor }>, options: { inTurn?: boolean } = {}): Promise<AdapterWeights> {
  const entries = [...layers];
  const host = await readAll(entries.flatMap(([, { A, B }]) => [A, B]), options);
  return Object.fromEntries(entries.map(([layer], i) => [layer, { A: host[2 * i], B: host[2 * i + 1] }]));
}

export interface HostAdapter {
  weights: AdapterWeights;
  config: Pick<AdapterConfig, 'rank' | 'alpha'>;
  /** Examples of the batch that get this adapter (consecutive, in order). */
  rows: number;
}

/**
 * A LoRA scope over adapters held on the host: adapter i applies to its own block of rows.
 * This is how trained or loaded adapters run for inference, several at once. Call the
 * returned `dispose` when done.
 */
export function hostAdapterScope(adapters: readonly HostAdapter[]): { scope: LoraScope; dispose(): void } {
  const plan = buildSegmentPlan(adapters.map((a, i) => ({ adapter: { name: `adapter${i}`, rank: a.config.rank, scale: loraScale(a.config) }, rows: a.rows })));
  const tensors = adapters.map((a) => new Map(Object.entries(a.weights).map(([layer, { A, B }]) => [layer, { A: tf.tensor2d(A.data, A.shape as [number, number]), B: tf.tensor2d(B.data, B.shape as [number, number]) }])));
  const layers = new Set(tensors.flatMap((m) => [...m.keys()]));
  const bindings = new Map<string, LayerBinding>();
  for (const layer of layers) {
    const members = tensors.map((m, i) => (m.has(layer) ? i : -1)).filter((i) => i >= 0);
    const remap = new Int32Array(adapters.length).fill(-1);
    members.forEach((m, k) => (remap[m] = k));
    bindings.set(layer, {
      plan: { ...plan, segmentAdapter: plan.segmentAdapter.map((a) => remap[a]), adapters: members.map((m) => plan.adapters[m]) },
      A: members.map((m) => tensors[m].get(layer)!.A),
      B: members.map((m) => tensors[m].get(layer)!.B),
    });
  }
  return {
    scope: { layer: (name) => bindings.get(name) ?? null },
    dispose: () => tensors.forEach((m) => m.forEach(({ A, B }) => tf.dispose([A, B]))),
  };
}

/**
 * Runs the base model with one adapter applied to every row: what inference with a trained
 * or loaded adapter looks like. Returns the model output.
 */
export function predictWithAdapter(model: BaseModel, weights: AdapterWeights, config: Pick<AdapterConfig, 'rank' | 'alpha'>, x: tf.Tensor): tf.Tensor {
  const { scope, dispose } = hostAdapterScope([{ weights, config, rows: x.shape[0] }]);
  try {
    return tf.tidy(() => withLoraScope(scope, () => model.forward(x)));
  } finally {
    dispose();
  }
}
