// CPU benchmark: the native grouped-LoRA op (@alto/kernels, multi-threaded) against the tfjs
// composite kernels on the same backend, forward + backward of one LoRA-targeted projection,
// on cpu and wasm. Each provider is called through its registered tfjs kernels, inputs and
// outputs as tfjs tensors. Writes cpu-result.json and prints a table.
//   node bench/kernels/cpu.mjs
import * as tf from '@tensorflow/tfjs-core';
import { writeFileSync } from 'node:fs';
import { BATCHED_PROVIDER, initBackend, NATIVE_PROVIDER, REFERENCE_PROVIDER } from '@alto/tfjs';
import { median, runInfo } from '../env.mjs';

const SHAPES = [
  { name: 'tiny transformer sweep: d 64, 12 adapters × 8 × 24 tokens, ranks 4/8/16', d: 64, rowsPer: 192, ranks: Array.from({ length: 12 }, (_, i) => [4, 8, 16][i % 3]) },
  { name: 'd 256, 8 adapters × 8 × 64 tokens, ranks 8/16/32', d: 256, rowsPer: 512, ranks: Array.from({ length: 8 }, (_, i) => [8, 16, 32][i % 3]) },
  { name: 'd 768, 4 adapters × 4 × 128 tokens, rank 16', d: 768, rowsPer: 512, ranks: [16, 16, 16, 16] },
];
const PROVIDERS = { native: NATIVE_PROVIDER, 'tfjs per-adapter loop': REFERENCE_PROVIDER, 'tfjs batched': BATCHED_PROVIDER };

function attrsOf(shape) {
  const K = shape.ranks.length;
  return {
    segmentOffsets: Array.from({ length: K + 1 }, (_, i) => i * shape.rowsPer),
    segmentAdapter: Array.from({ length: K }, (_, i) => i),
    ranks: shape.ranks,
    scales: shape.ranks.map(() => 2),
  };
}

function timeProvider(provider, backend, shape, reps) {
  const T = shape.rowsPer * shape.ranks.length;
  const { d } = shape;
  const x = tf.randomNormal([T, d], 0, 1, 'float32', 1);
  const base = tf.randomNormal([T, d], 0, 1, 'float32', 2);
  const dy = tf.randomNormal([T, d], 0, 1, 'float32', 3);
  const A = shape.ranks.map((r, i) => tf.randomNormal([d, r], 0, 0.05, 'float32', 10 + i));
  const B = shape.ranks.map((r, i) => tf.randomNormal([r, d], 0, 0.05, 'float32', 100 + i));
  provider.ensure(backend);
  const attrs = { ...attrsOf(shape), backwardKernel: provider.backward };
  const fwd = () => tf.engine().runKernel(provider.forward, [x, base, ...A, ...B], attrs);
  const bwd = () => tf.engine().runKernel(provider.backward, [x, dy, ...A, ...B], attrs);
  const once = () => {
    const y = fwd();
    const grads = bwd();
    grads[0].dataSync();
    tf.dispose([y, ...grads]);
  };
  once();
  const times = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    once();
    times.push(performance.now() - t0);
  }
  // the same numbers from every provider: dX of one pass compared with the native one
  const grads = bwd();
  const dx = grads[0].dataSync().slice();
  tf.dispose([x, base, dy, ...A, ...B, ...grads]);
  return { ms: median(times), dx };
}

const rows = [];
for (const backend of ['wasm', 'cpu']) {
  await initBackend(backend);
  for (const shape of SHAPES) {
    const reps = backend === 'cpu' && shape.d > 256 ? 3 : 10;
    const res = Object.fromEntries(Object.entries(PROVIDERS).map(([name, p]) => [name, timeProvider(p, backend, shape, reps)]));
    const ref = res.native.dx;
    const diff = (v) => Math.sqrt(v.reduce((s, x, i) => s + (x - ref[i]) ** 2, 0) / ref.reduce((s, x) => s + x * x, 0));
    const best = Math.min(res['tfjs per-adapter loop'].ms, res['tfjs batched'].ms);
    rows.push({
      backend,
      shape: shape.name,
      'native ms': +res.native.ms.toFixed(2),
      'tfjs loop ms': +res['tfjs per-adapter loop'].ms.toFixed(2),
      'tfjs batched ms': +res['tfjs batched'].ms.toFixed(2),
      'best tfjs / native': +(best / res.native.ms).toFixed(2),
      'max rel diff of dX': Math.max(diff(res['tfjs per-adapter loop'].dx), diff(res['tfjs batched'].dx)).toExponential(1),
    });
  }
}
const result = { ...runInfo(), what: 'median ms of forward + backward (one LoRA-targeted projection), native vs tfjs composite kernels on the same backend', rows };
writeFileSync(new URL('./cpu-result.json', import.meta.url), JSON.stringify(result, null, 2) + '\n');
console.table(rows);
