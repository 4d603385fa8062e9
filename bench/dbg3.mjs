import * as tf from '@tensorflow/tfjs-core';
import { builtinTaskData, completionLoss, loadTransformer, textDataSource, TINY_WEIGHTS_FILE } from '@alto/models';
import { initBackend } from '@alto/tfjs';
await initBackend(process.argv[2] ?? 'wasm');
const m = await loadTransformer(TINY_WEIGHTS_FILE);
const d = builtinTaskData('add');
const tr = textDataSource(d.train, 24), va = textDataSource(d.valid, 24);
const idx = (n) => Int32Array.from({ length: n }, (_, i) => i);
for (const [name, src] of [['train', tr], ['valid', va]]) for (const n of [8, 64]) {
  const { x, y } = src.gather(idx(n));
  const l = completionLoss(y, m.forward(x));
  console.log(name, n, 'mean', tf.mean(l).dataSync()[0].toFixed(3), 'first8', Array.from(l.dataSync().slice(0, 8)).map(v => v.toFixed(2)).join(' '));
}
