// A plain tfjs training script: train a small classifier on task A, then fine-tune the
// whole model on task B with one guessed learning rate.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import * as tfl from '@tensorflow/tfjs-layers';
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

// Fine-tune on task B.
const b = makeData('B', 600, 3);
const bValid = makeData('B', 500, 4);
console.log(`task B accuracy before fine-tuning: ${(100 * accuracy(model.predict(bValid.x), bValid.y)).toFixed(1)}%`);
model.compile({ optimizer: tf.train.adam(1e-3), loss: (y, logits) => tf.losses.softmaxCrossEntropy(y, logits) });
await model.fit(b.x, b.y, { epochs: 10, batchSize: 16, shuffle: false, verbose: 0 });
console.log(`task B accuracy after fine-tuning (lr 1e-3, all weights): ${(100 * accuracy(model.predict(bValid.x), bValid.y)).toFixed(1)}%`);
