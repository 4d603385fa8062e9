import { afterAll, describe, expect, it, vi } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { cpuFallbackKernels, registerCpuFallbacks } from './fallback.js';

// A real backend (its own tensor storage) registered under a name with no kernels of its own:
// every op it runs goes through the fallback, its tensors copied out and back.
const NAME = 'fallback-check';
tf.registerBackend(NAME, () => new MathBackendCPU(), 0);

describe('the CPU fallback', () => {
  afterAll(() => tf.removeBackend(NAME));

  it('runs the cpu kernels a backend lacks, with the same results, and reports each kernel once', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    expect(registerCpuFallbacks(NAME)).toBeGreaterThan(100);
    await tf.setBackend('cpu');
    const run = () => {
      const x = tf.tensor4d(Array.from({ length: 2 * 5 * 5 * 3 }, (_, i) => Math.sin(i)), [2, 5, 5, 3]);
      const w = tf.tensor4d(Array.from({ length: 3 * 3 * 3 * 4 }, (_, i) => Math.cos(i)), [3, 3, 3, 4]);
      const y = tf.conv2d(x, w, 1, 'same');
      const z = tf.conv2d(x, w, 1, 'valid');
      const v = tf.tensor1d([3, 1, 4, 1, 5]), top = tf.topk(v, 2);
      const out = [Array.from(y.dataSync()), Array.from(z.dataSync()), top.indices.arraySync()];
      tf.dispose([x, w, y, z, v, top.values, top.indices]);
      return out;
    };
    const want = run();
    await tf.setBackend(NAME);
    const before = tf.memory().numTensors;
    expect(run()).toEqual(want);
    expect(tf.memory().numTensors).toBe(before);  // nothing left behind on either side
    expect(cpuFallbackKernels()).toEqual(expect.arrayContaining(['Conv2D', 'TopK']));
    expect(warn.mock.calls.filter(([m]) => String(m).includes('Conv2D'))).toHaveLength(1);
    warn.mockRestore();
  });
});
