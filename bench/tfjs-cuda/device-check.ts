/**
 * The CUDA backend's op checks (test/tfjs-cuda/cases.ts) as one program for the GPU machine,
 * which has no node_modules: bundled by bundle.mjs, run by device-run.sh.
 *   node device-check.mjs OUT.json
 */
import { writeFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { cpuFallbackKernels, CUDA_BACKEND, registerCudaBackend } from '@alto/tfjs-backend-cuda';
import { CUDA_PROVIDER, tfjsKernels } from '@alto/tfjs';
import { runCases, type Outcome } from '../../test/tfjs-cuda/cases.js';

// The CPU fallback is on, so that one case below can use it; the check at the end proves that
// no other case did.
const registration = registerCudaBackend({ cpuFallback: true });
if (!registration.ok) {
  console.error(`CUDA backend unavailable: ${registration.reason}`);
  process.exit(2);
}
const outcomes: Outcome[] = [];
// ALTO's grouped LoRA must run on the device kernels there, not on a tfjs fallback.
const chosen = tfjsKernels.resolve('groupedLora', CUDA_BACKEND).impl;
outcomes.push({ name: 'grouped LoRA on alto-cuda uses the CUDA kernels', ok: chosen === CUDA_PROVIDER, detail: `resolved ${chosen.forward}` });
outcomes.push(...(await runCases(CUDA_BACKEND)));

// A kernel without a CUDA implementation (Conv2D) runs on the CPU fallback and matches cpu.
const conv = (backend: string) => {
  tf.setBackend(backend);
  const x = tf.tensor4d(Array.from({ length: 2 * 5 * 5 * 3 }, (_, i) => Math.sin(i)), [2, 5, 5, 3]);
  const w = tf.tensor4d(Array.from({ length: 3 * 3 * 3 * 4 }, (_, i) => Math.cos(i)), [3, 3, 3, 4]);
  const y = tf.conv2d(x, w, 1, 'same');
  const values = Array.from(y.dataSync());
  tf.dispose([x, w, y]);
  return values;
};
const convCpu = conv('cpu'), convCuda = conv(CUDA_BACKEND);
const convDiff = Math.max(...convCpu.map((v, i) => Math.abs(v - convCuda[i])));
outcomes.push({ name: 'a kernel without a CUDA implementation (Conv2D) runs on the CPU fallback', ok: convDiff < 1e-5, detail: `max difference ${convDiff}` });
const fallbacks = cpuFallbackKernels();
outcomes.push({ name: 'no other case ran on the CPU fallback', ok: fallbacks.join() === 'Conv2D', detail: `ran on the CPU: ${fallbacks.join(', ')}` });

// Device memory: a 4 MiB tensor shows in tf.memory() and is given back on dispose.
await tf.setBackend(CUDA_BACKEND);
const inGpu = () => (tf.memory() as unknown as { numBytesInGPU: number }).numBytesInGPU;
const before = inGpu();
const x = tf.ones([1024, 1024]);
const held = inGpu() - before;
x.dispose();
const after = inGpu();
outcomes.push({ name: 'device memory tracked and freed', ok: held >= 4 << 20 && after === before, detail: `held ${held} B, ${after - before} B left after dispose` });

for (const o of outcomes) console.log(`${o.ok ? 'ok  ' : 'FAIL'} ${o.name}${o.ok ? '' : `: ${o.detail}`}`);
const passed = outcomes.filter((o) => o.ok).length;
if (process.argv[2]) writeFileSync(process.argv[2], JSON.stringify({ backend: CUDA_BACKEND, date: new Date().toISOString(), outcomes }, null, 1));
console.log(`${passed} passed, ${outcomes.length - passed} failed`);
process.exit(passed === outcomes.length ? 0 : 1);
