// Which tfjs backend ALTO should default to: the pure-JS cpu backend or wasm (XNNPACK).
// Measures a 512³ matmul and a batched LoRA training step (8 adapters) on both, in one run.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import * as tfl from '@tensorflow/tfjs-layers';
import { writeFileSync } from 'node:fs';
import { resolveAdapterConfig } from '@alto/core';
import { fromTensors, Trainer, wrapModel } from '@alto/tfjs';
import { median, runInfo } from '../env.mjs';

async function matmul(backend) {
  await tf.setBackend(backend);
  const a = tf.randomNormal([512, 512], 0, 1, 'float32', 1);
  const b = tf.randomNormal([512, 512], 0, 1, 'float32', 2);
  tf.matMul(a, b).dispose();
  const times = [];
  for (let i = 0; i < 10; i++) {
    const t0 = performance.now();
    const c = tf.matMul(a, b);
    await c.data();
    times.push(performance.now() - t0);
    c.dispose();
  }
  tf.dispose([a, b]);
  return median(times);
}

async function trainingStep(backend) {
  await tf.setBackend(backend);
  const model = tfl.sequential({
    layers: [
      tfl.layers.dense({ inputShape: [256], units: 512, activation: 'relu', name: 'fc1' }),
      tfl.layers.dense({ units: 512, activation: 'relu', name: 'fc2' }),
      tfl.layers.dense({ units: 10, name: 'head' }),
    ],
  });
  const x = tf.randomNormal([512, 256], 0, 1, 'float32', 3);
  const y = tf.cast(tf.oneHot(tf.randomUniform([512], 0, 10, 'int32', 4), 10), 'float32');
  const base = wrapModel(model);
  const trainer = new Trainer(base, (t, p) => tf.losses.softmaxCrossEntropy(t, p, undefined, 0, tf.Reduction.NONE), [{ name: 'bench', train: fromTensors(x, y) }], { reportEvery: 8 });
  const times = [];
  let last = 0;
  trainer.session.hooks.beforeStep.tap('timer', () => (last = performance.now()));
  trainer.session.hooks.afterStep.tap('timer', ({ step }) => {
    if (step >= 3) times.push(performance.now() - last);
  });
  for (let i = 0; i < 8; i++) trainer.enqueue('bench', `t${i}`, resolveAdapterConfig({ rank: 8, learningRate: 1e-3, batchSize: 16, steps: 23, seed: i }));
  await trainer.run();
  base.detach();
  model.dispose();
  tf.dispose([x, y]);
  return median(times);
}

const rows = [];
for (const backend of ['cpu', 'wasm']) {
  rows.push({ backend, matmul512Ms: await matmul(backend), loraStep8AdaptersMs: await trainingStep(backend) });
}
const [cpu, wasm] = rows;
const result = {
  ...runInfo(),
  what: 'median ms: 512×512×512 matmul; one batched LoRA training step (MLP 256-512-512-10, 8 adapters, rank 8, 16 rows each, LoRA on all 3 Dense layers)',
  rows,
  ratios: { matmulCpuOverWasm: cpu.matmul512Ms / wasm.matmul512Ms, stepCpuOverWasm: cpu.loraStep8AdaptersMs / wasm.loraStep8AdaptersMs },
  default: wasm.loraStep8AdaptersMs < cpu.loraStep8AdaptersMs ? 'wasm' : 'cpu',
};
writeFileSync(new URL('./result.json', import.meta.url), JSON.stringify(result, null, 2) + '\n');
console.table(rows);
console.log(`wasm is ${result.ratios.matmulCpuOverWasm.toFixed(1)}× faster on the matmul and ${result.ratios.stepCpuOverWasm.toFixed(1)}× on the training step; default: ${result.default}`);
