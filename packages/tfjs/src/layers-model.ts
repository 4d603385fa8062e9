import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { applyLora, loraScopeActive } from './lora-scope.js';

/** The parts of a tfjs-layers Dense layer that LoRA needs. */
interface DenseLike {
  name: string;
  units: number;
  kernel: { read(): tf.Tensor };
  bias: { read(): tf.Tensor } | null;
  activation: { apply(x: tf.Tensor): tf.Tensor } | null;
  call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor | tf.Tensor[];
  getClassName(): string;
}

interface LayerContainer {
  layers?: unknown[];
}

/** Every Dense layer of a model, nested models included, in order. */
export function denseLayers(model: LayersModel): DenseLike[] {
  const out: DenseLike[] = [];
  const visit = (layer: unknown) => {
    const l = layer as DenseLike & LayerContainer;
    if (typeof l.getClassName === 'function' && l.getClassName() === 'Dense') out.push(l);
    else if (Array.isArray(l.layers)) l.layers.forEach(visit);
  };
  (model as unknown as LayerContainer).layers?.forEach(visit);
  return out;
}

/**
 * Makes every Dense layer of the model LoRA-aware: inside an ALTO scope a targeted layer
 * computes x·W + b, adds the grouped LoRA term, then applies its activation; outside a
 * scope it runs its own code. The base weights are never written. Returns the undo.
 */
export function patchDenseLayers(model: LayersModel): () => void {
  const patched = denseLayers(model).map((layer) => {
    const own = Object.prototype.hasOwnProperty.call(layer, 'call') ? layer.call : undefined;
    const original = layer.call.bind(layer);
    layer.call = (inputs, kwargs) => {
      if (!loraScopeActive()) return original(inputs, kwargs);
      return tf.tidy(() => {
        const x = Array.isArray(inputs) ? inputs[0] : inputs;
        const dIn = x.shape[x.rank - 1];
        const x2 = tf.reshape(x, [-1, dIn]) as tf.Tensor2D;
        let y: tf.Tensor2D = tf.matMul(x2, layer.kernel.read() as tf.Tensor2D);
        if (layer.bias) y = tf.add(y, layer.bias.read()) as tf.Tensor2D;
        const withLora = applyLora(layer.name, x2, y);
        const out = x.rank === 2 ? withLora : tf.reshape(withLora, [...x.shape.slice(0, -1), layer.units]);
        return layer.activation ? layer.activation.apply(out) : out;
      });
    };
    return () => {
      if (own) layer.call = own;
      else delete (layer as Partial<DenseLike>).call;
    };
  });
  return () => patched.forEach((undo) => undo());
}
