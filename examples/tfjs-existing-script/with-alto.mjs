// The same script with ALTO: instead of fine-tuning every weight with one guessed learning
// rate, tune LoRA on task B over a search space, all configurations at once over the frozen
// model, and keep the best adapter.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import * as tfl from '@tensorflow/tfjs-layers';
import { fromTensors, tune } from '@alto/tfjs'; // ALTO
import { accuracy, CLASSES, makeData } from './task.mjs';

await tf.setBackend('wasm');

const model = tfl.sequential({
  layers: [
    tfl.layers.dense({ inputShape: [2], units: 64, activation: 'relu', name: 'hidden1', kernelInitializer: tfl.initializers.glorotUniform({ seed: 1 }) }),
    tfl.layers.dense({ units: 64, activation: 'relu', name: 'hidden2', kernelInitializer: tfl.initializers.glorotUniform({ seed: 2 }) }),
    tfl.layers.dense({ units: CLASSES, name: 'logits', kernelInitializer: tfl.initializers.glorotUniform({ seed: 3 }) }),
  ],
});
model.compile({ optimizer: tf.train.adam(1e-2), loss: (y, logits) => tf.losses.softmaxCrossEntropy(y, logits) });

const a = makeData('A', 2000, 1);
await model.fit(a.x, a.y, { epochs: 15, batchSize: 64, shuffle: false, verbose: 0 });
const aValid = makeData('A', 500, 2);
console.log(`task A accuracy after training: ${(100 * accuracy(model.predict(aValid.x), aValid.y)).toFixed(1)}%`);

const b = makeData('B', 600, 3);
const bValid = makeData('B', 500, 4);
console.log(`task B accuracy before fine-tuning: ${(100 * accuracy(model.predict(bValid.x), bValid.y)).toFixed(1)}%`);
// ALTO: 3 learning rates × 2 ranks × 2 batch sizes = 12 configurations, trained together.
const result = await tune({
  model,
  loss: (y, logits) => tf.losses.softmaxCrossEntropy(y, logits, undefined, 0, tf.Reduction.NONE),
  tasks: [{ name: 'B', train: fromTensors(b.x, b.y), valid: fromTensors(bValid.x, bValid.y),
    searchSpace: { learningRate: [1e-3, 5e-3, 2e-2], rank: [4, 16], batchSize: [8, 16], alpha: '2r' }, base: { epochs: 10 } }],
  evalEvery: 40,
});
const best = result.best();
for (const t of [...result.trials].sort((x, y) => x.finalValLoss - y.finalValLoss)) {
  const c = t.config;
  console.log(`  ${t.id}  lr ${c.learningRate.toExponential(0)}  rank ${String(c.rank).padStart(2)}  batch ${String(c.batchSize).padStart(2)}  steps ${t.steps}  valid loss ${t.finalValLoss.toFixed(4)}`);
}
console.log(`task B accuracy with the best adapter (${best.trial.id}: lr ${best.trial.config.learningRate}, rank ${best.trial.config.rank}, batch ${best.trial.config.batchSize}): ${(100 * accuracy(best.predict(bValid.x), bValid.y)).toFixed(1)}%`);
console.log(`${result.trials.length} configurations tuned in ${result.wallSeconds.toFixed(1)} s on ${result.backend}`);
await best.save('out/tfjs-existing-script/best-adapter');
console.log('best adapter saved to out/tfjs-existing-script/best-adapter');
