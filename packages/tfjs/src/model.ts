import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { patchDenseLayers } from './layers-model.js';
import { DiscoveryScope, withLoraScope } from './lora-scope.js';

/**
 * A model written as a function of tf ops; its LoRA-targetable layers are the `linear(name,
 * x, kernel, bias)` calls it makes.
 */
export type FunctionModel = (x: tf.Tensor) => tf.Tensor;

export interface LinearLayer {
  name: string;
  dIn: number;
  dOut: number;
}

/** A frozen base model as ALTO drives it. */
export interface BaseModel {
  forward(x: tf.Tensor): tf.Tensor;
  /** The linear layers one forward pass of `sample` meets, in order. */
  linearLayers(sample: tf.Tensor): LinearLayer[];
  /** Restores the user's model to what it was. */
  detach(): void;
}

const isLayersModel = (m: unknown): m is LayersModel =>
  typeof m === 'object' && m !== null && typeof (m as LayersModel).apply === 'function' && Array.isArray((m as LayersModel).layers);

export function wrapModel(model: LayersModel | FunctionModel): BaseModel {
  if (isLayersModel(model)) {
    const undo = patchDenseLayers(model);
    // Base dropout and other training-only behaviour stay off: the base is frozen, and a
    // row-wise deterministic base is what lets batched adapters equal adapters trained alone.
    return withDiscovery({ forward: (x) => model.apply(x, { training: false }) as tf.Tensor, detach: undo });
  }
  if (typeof model === 'function') return withDiscovery({ forward: model, detach: () => {} });
  throw new TypeError('model must be a tf.LayersModel or a function of tf ops that uses linear() for its linear layers');
}

function withDiscovery(m: Omit<BaseModel, 'linearLayers'>): BaseModel {
  return {
    ...m,
    linearLayers(sample) {
      const scope = new DiscoveryScope();
      tf.tidy(() => {
        withLoraScope(scope, () => m.forward(sample));
      });
      return [...scope.layers].map(([name, { dIn, dOut }]) => ({ name, dIn, dOut }));
    },
  };
}
