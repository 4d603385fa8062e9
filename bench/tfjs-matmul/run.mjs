// Why the per-adapter loop is the grouped-LoRA default on wasm and cpu: the LoRA matmuls of 8
// adapters (384 rows each, d 64, rank 8) as one batched matmul against 8 plain 2-D matmuls,
// and the cost of a transposed operand, on one backend. Writes result-<backend>.json here.
//   node bench/tfjs-matmul/run.mjs [wasm|cpu]
import * as tf from '@tensorflow/tfjs-core';
import { writeFileSync } from 'node:fs';
import { initBackend } from '@alto/tfjs';
import { median, runInfo } from '../env.mjs';

const backend = await initBackend(process.argv[2] ?? 'wasm');
const n = 8, L = 384, d = 64, r = 8;
const X = tf.randomNormal([n, L, d], 0, 1, 'float32', 1);
const A = tf.randomNormal([n, d, r], 0, 1, 'float32', 2);
const B = tf.randomNormal([n, r, d], 0, 1, 'float32', 3);
const S = tf.matMul(X, A);
const Xs = tf.unstack(X), As = tf.unstack(A), Bs = tf.unstack(B), Ss = tf.unstack(S);

function time(f, reps = 40) {
  f();
  const times = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    f();
    times.push(performance.now() - t0);
  }
  return median(times);
}
const run = (make) => () => tf.dispose(make());

const rows = {
  'shrink X·A': { batched: time(run(() => tf.matMul(X, A))), loop2d: time(run(() => Xs.map((x, i) => tf.matMul(x, As[i])))) },
  'expand S·B': { batched: time(run(() => tf.matMul(S, B))), loop2d: time(run(() => Ss.map((s, i) => tf.matMul(s, Bs[i])))) },
  'dA = Xᵀ·dS (transposeA)': { batched: time(run(() => tf.matMul(X, S, true, false))), loop2d: time(run(() => Xs.map((x, i) => tf.matMul(x, Ss[i], true, false)))) },
  'dA as (dSᵀ·X)ᵀ, explicit small transposes': { batched: null, loop2d: time(run(() => Xs.map((x, i) => tf.transpose(tf.matMul(tf.transpose(Ss[i]), x))))) },
};
for (const v of Object.values(rows)) v.ratio = v.batched === null ? null : v.batched / v.loop2d;
const result = { ...runInfo(), backend, what: `median ms, ${n} adapters × ${L} rows, d ${d}, rank ${r}: one batched matmul vs ${n} 2-D matmuls`, rows };
writeFileSync(new URL(`./result-${backend}.json`, import.meta.url), JSON.stringify(result, null, 2) + '\n');
console.table(rows);
