// Where the time of a batched training step goes: K adapters of builtin:tiny on the add task,
// 6 steps, kernel times aggregated by tf.profile (BatchMatMul split by input shapes).
//   node bench/prof-step.mjs [K] [backend] [rows per adapter | mix]
import * as tf from '@tensorflow/tfjs-core';
import { resolveAdapterConfig } from '@alto/core';
import { builtinTaskData, completionLoss, loadTransformer, textDataSource, TINY_WEIGHTS_FILE } from '@alto/models';
import { initBackend, Trainer, wrapModel } from '@alto/tfjs';

const K = Number(process.argv[2] ?? 24);
await initBackend(process.argv[3] ?? 'wasm');
const model = await loadTransformer(TINY_WEIGHTS_FILE);
const train = textDataSource(builtinTaskData('add').train, model.spec.context);
const trainer = new Trainer(wrapModel(model.forward), completionLoss, [{ name: 'add', train }], { profileSteps: 0 });
// a number, or "mix" for batch sizes 4, 8 and 16 in turn
const batchArg = process.argv[4] ?? '8';
const batchOf = (i) => (batchArg === 'mix' ? [4, 8, 16][i % 3] : Number(batchArg));
for (let i = 0; i < K; i++) trainer.enqueue('add', `t${i}`, resolveAdapterConfig({ rank: 8, learningRate: 1e-3, batchSize: batchOf(i), steps: 6, seed: i }));

const steps = [];
let start = 0;
let optimizerStart = 0;
trainer.session.hooks.beforeStep.tap('timer', () => (start = performance.now()));
trainer.session.hooks.beforeOptimizerStep.tap('timer', () => {
  optimizerStart ||= performance.now();
  return undefined;
});
trainer.session.hooks.afterStep.tap('timer', () => {
  const end = performance.now();
  steps.push(`${(end - start).toFixed(0)} ms (forward+backward ${(optimizerStart - start).toFixed(0)}, optimizers ${(end - optimizerStart).toFixed(0)})`);
  optimizerStart = 0;
});
const profile = await tf.profile(() => trainer.run());
const byKernel = new Map();
for (const k of profile.kernels) {
  const key = k.name === 'BatchMatMul' ? `BatchMatMul ${JSON.stringify(k.inputShapes)}` : k.name;
  const [ms, n] = byKernel.get(key) ?? [0, 0];
  byKernel.set(key, [ms + k.kernelTimeMs, n + 1]);
}
console.log(`${K} adapters × ${batchArg} rows, steps: ${steps.join(' | ')}`);
for (const [key, [ms, n]] of [...byKernel].sort((a, b) => b[1][0] - a[1][0]).slice(0, 12)) console.log(`  ${ms.toFixed(0).padStart(6)} ms  ×${String(n).padEnd(6)} ${key}`);
