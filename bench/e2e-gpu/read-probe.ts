// Device reads of one adapter's worth of weights (180 MB, a rank-64 adapter of the e2e model)
// through the CUDA backend, timed on the host: the figures the README quotes for the read lane.
// Bundle beside the CLI and run on the GPU machine (node from .device/, the addon carried):
//   (cd bench && node -e "import('esbuild').then(({build}) => build({entryPoints: ['e2e-gpu/read-probe.ts'], bundle: true,
//     platform: 'node', format: 'esm', target: 'node20', outfile: '../.device/read-probe.mjs', ignoreAnnotations: true,
//     banner: {js: \"import { createRequire as r } from 'node:module'; const require = r(import.meta.url);\"}}))")
//   . bench/device-env.sh; /tmp/node .device/read-probe.mjs
import * as tf from '@tensorflow/tfjs-core';
import { CUDA_BACKEND, registerCudaBackend } from '@alto/tfjs-backend-cuda';
registerCudaBackend({ matmulPrecision: 'bf16' });
await tf.setBackend(CUDA_BACKEND);
const n = 45_000_000; // 180 MB, one r=64 adapter of the e2e model
const x = tf.fill([n], 1.5);
await x.data(); // warm
const time = async (label: string, f: () => Promise<unknown>) => {
  const ms: number[] = [];
  for (let i = 0; i < 5; i++) { const t = performance.now(); await f(); ms.push(performance.now() - t); }
  ms.sort((a, b) => a - b);
  console.log(`${label}: median ${ms[2].toFixed(1)} ms = ${(4 * n / ms[2] / 1e6).toFixed(2)} GB/s  [${ms.map((m) => m.toFixed(0)).join(' ')}]`);
};
await time('read() 180 MB, fresh array', () => { const y = tf.add(x, 0); const p = y.data(); y.dispose(); return p; });
await time('4 reads of 45 MB at once', () => Promise.all([0, 1, 2, 3].map(() => { const y = tf.slice(x, 0, n / 4); const z = tf.add(y, 0); y.dispose(); const p = z.data(); z.dispose(); return p; })));
await time('dataSync 180 MB', async () => { const y = tf.add(x, 0); y.dataSync(); y.dispose(); });
const reuse = new Float32Array(n);
await time('memcpy into a touched array (host only)', async () => { reuse.set(new Float32Array(n)); });
await time('fresh Float32Array + fill (page faults, host only)', async () => { new Float32Array(n).fill(1); });
process.exit(0);
