import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { AdapterConfigInput, resolveAdapterConfig, Rng, AdapterConfig } from '@alto/core';
import { fromTensors, DataSource } from '../data.js';

/** A small classification problem labelled by a fixed random linear teacher; inputs drawn per seed. */
export function teacherData(seed: number, n: number, dIn = 12, classes = 5, teacherSeed = 1): { x: tf.Tensor2D; y: tf.Tensor2D } {
  const rng = new Rng(seed);
  const x = Float32Array.from({ length: n * dIn }, () => rng.uniform(-1, 1));
  const teacher = new Rng(teacherSeed);
  const w = Float32Array.from({ length: dIn * classes }, () => teacher.uniform(-1, 1));
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    let bestScore = -Infinity;
    for (let c = 0; c < classes; c++) {
      let s = 0;
      for (let j = 0; j < dIn; j++) s += x[i * dIn + j] * w[j * classes + c];
      if (s > bestScore) [best, bestScore] = [c, s];
    }
    labels[i] = best;
  }
  return tf.tidy(() => ({ x: tf.tensor2d(x, [n, dIn]), y: tf.cast(tf.oneHot(tf.tensor1d(labels, 'int32'), classes), 'float32') as tf.Tensor2D }));
}

/** A frozen two-layer MLP with named Dense layers, weights fixed by a seed. */
export function mlp(seed: number, dIn = 12, hidden = 32, classes = 5): tfl.LayersModel {
  const model = tfl.sequential({
    layers: [
      tfl.layers.dense({ inputShape: [dIn], units: hidden, activation: 'relu', name: 'hidden', kernelInitializer: tfl.initializers.glorotUniform({ seed }) }),
      tfl.layers.dense({ units: classes, name: 'out', kernelInitializer: tfl.initializers.glorotUniform({ seed: seed + 1 }) }),
    ],
  });
  return model;
}

export const perExampleCrossEntropy = (y: tf.Tensor, logits: tf.Tensor): tf.Tensor =>
  tf.losses.softmaxCrossEntropy(y, logits, undefined, 0, tf.Reduction.NONE);

export function source(seed: number, n: number): DataSource {
  const { x, y } = teacherData(seed, n);
  return fromTensors(x, y);
}

export const config = (c: AdapterConfigInput): AdapterConfig => resolveAdapterConfig({ steps: 20, ...c });

/** max |a − b| / max |b| */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return num / Math.max(den, 1e-30);
}
