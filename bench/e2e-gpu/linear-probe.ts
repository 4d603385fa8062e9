// Where a LoRA-targeted projection of the e2e model spends its forward on the H200: the base
// product alone (cuBLAS, bf16 inputs) against linear() under a LoRA scope (the same product plus
// the grouped LoRA kernels), and the backward's product dy·Wᵀ alone, at the shape of (a)'s steps after the cut
// (65 sequences of 512 tokens, 15 adapters with (a)'s survivors' batches and ranks). Kernel time
// from the backend's stream marks (tf.time), median of 7 after 2 warm-ups. (A backward through
// tf.grads timed this way gave hundreds of ms for either path — not the trainer's backward,
// leanVariableGrads — so the LoRA backward is not measured here.)
// Bundle beside the CLI and run on the GPU machine (node from .device/, the addon carried):
//   (cd bench && node -e "import('esbuild').then(({build}) => build({entryPoints: ['e2e-gpu/linear-probe.ts'], bundle: true,
//     platform: 'node', format: 'esm', target: 'node20', outfile: '../.device/linear-probe.mjs', ignoreAnnotations: true,
//     banner: {js: \"import { createRequire as r } from 'node:module'; const require = r(import.meta.url);\"}}))")
//   . bench/device-env.sh; /tmp/node .device/linear-probe.mjs OUT.json
import * as tf from '@tensorflow/tfjs-core';
import { writeFileSync } from 'node:fs';
import { CUDA_BACKEND, registerCudaBackend } from '@alto/tfjs-backend-cuda';
import { linear, withLoraScope } from '@alto/tfjs';

const registered = registerCudaBackend({ matmulPrecision: 'bf16' });
if (!registered.ok) throw new Error(registered.reason);
await tf.setBackend(CUDA_BACKEND);

const T = 512;
// (a)'s survivors after the cut: batch and rank of each (65 sequences).
const survivors = [[8, 64], [8, 64], [8, 16], [8, 32], [8, 64], [4, 64], [4, 64], [4, 32], [4, 64], [2, 64], [2, 32], [2, 64], [1, 64], [1, 32], [1, 64]];
const rows = survivors.reduce((n, [b]) => n + b, 0);
const offsets = [0];
for (const [b] of survivors) offsets.push(offsets[offsets.length - 1] + b);
const plan = {
  totalRows: rows,
  segmentOffsets: Int32Array.from(offsets),
  segmentAdapter: Int32Array.from(survivors.map((_, i) => i)),
  adapters: survivors.map(([, r], i) => ({ name: `t${i}`, rank: r, scale: 2 })),
  maxRank: 64,
};
const projections: [string, number, number][] = [['q', 2048, 2048], ['k', 2048, 512], ['v', 2048, 512], ['o', 2048, 2048], ['gate', 2048, 8192], ['up', 2048, 8192], ['down', 8192, 2048]];

async function kernelMs(f: () => tf.Tensor | tf.Tensor[]): Promise<number> {
  const ms: number[] = [];
  for (let i = 0; i < 9; i++) {
    const info = await tf.time(() => tf.dispose(f()));
    if (i >= 2) ms.push(info.kernelMs as number);
  }
  ms.sort((a, b) => a - b);
  return ms[3];
}

interface Timing { name: string; dIn: number; dOut: number; baseForward: number; baseBackward: number; loraForward: number; baseTflops: number }
const results: Timing[] = [];
for (const [name, dIn, dOut] of projections) {
  const x = tf.randomUniform([rows, T, dIn], -1, 1), W = tf.randomUniform([dIn, dOut], -0.02, 0.02), dy = tf.randomUniform([rows * T, dOut], -1, 1);
  const A = survivors.map(([, r]) => tf.randomUniform([dIn, r], -0.02, 0.02)) as tf.Tensor2D[];
  const B = survivors.map(([, r]) => tf.randomUniform([r, dOut], -0.02, 0.02)) as tf.Tensor2D[];
  const x2 = tf.reshape(x, [rows * T, dIn]) as tf.Tensor2D;
  const scoped = <R>(a: tf.Tensor2D[], b: tf.Tensor2D[], f: () => R) => withLoraScope({ layer: () => ({ plan, A: a, B: b }) }, f);
  const baseForward = await kernelMs(() => tf.matMul(x2, W));
  const baseBackward = await kernelMs(() => tf.matMul(dy, W, false, true));
  const loraForward = await kernelMs(() => scoped(A, B, () => linear('p', x, W)));
  const flop = 2 * rows * T * dIn * dOut;
  const r: Timing = { name, dIn, dOut, baseForward, baseBackward, loraForward, baseTflops: flop / baseForward / 1e9 };
  console.log(`${name.padEnd(5)} ${dIn}→${dOut}: x·W ${baseForward.toFixed(2)} ms (${r.baseTflops.toFixed(0)} TFLOP/s), dy·Wᵀ ${baseBackward.toFixed(2)} ms; linear() forward ${loraForward.toFixed(2)} ms`);
  results.push(r);
  tf.dispose([x, W, dy, x2, ...A, ...B]);
}
const sum = (k: Exclude<keyof Timing, 'name'>) => results.reduce((s, r) => s + r[k], 0);
const layer = { baseForward: sum('baseForward'), baseBackward: sum('baseBackward'), loraForward: sum('loraForward') };
console.log(`a layer: x·W ${layer.baseForward.toFixed(1)} ms, dy·Wᵀ ${layer.baseBackward.toFixed(1)} ms; linear() forward ${layer.loraForward.toFixed(1)} ms (LoRA +${(layer.loraForward - layer.baseForward).toFixed(1)})`);
if (process.argv[2]) writeFileSync(process.argv[2], JSON.stringify({ date: new Date().toISOString(), rows, tokens: rows * T, survivors, projections: results, layer }, null, 1));
process.exit(0);
