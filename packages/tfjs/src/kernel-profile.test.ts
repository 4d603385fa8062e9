import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { profileKernels } from './kernel-profile.js';

const profiling = () => (tf.engine() as unknown as { state: { profiling: boolean } }).state.profiling;

describe('profileKernels', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('counts the calls of each kernel of the step and returns its result', async () => {
    const { result, profile } = await profileKernels(4, async () => {
      const a = tf.tensor1d([1, 2, 3]);
      const b = tf.add(tf.add(a, a), tf.mul(a, a));
      return (await b.data())[2];
    });
    expect(result).toBe(15);
    expect(profile.step).toBe(4);
    expect(profile.kernels.find((k) => k.name === 'Add')?.calls).toBe(2);
    expect(profile.kernels.find((k) => k.name === 'Multiply')?.calls).toBe(1);
  });

  it('throws what the step threw and leaves profiling off, so the step can be taken again', async () => {
    const oom = new Error('alloc: CUDA error (cudaMalloc: out of memory)');
    await expect(
      profileKernels(1, async () => {
        tf.add(tf.scalar(1), tf.scalar(2));
        throw oom;
      }),
    ).rejects.toBe(oom);
    expect(profiling()).toBe(false);
    const again = await profileKernels(1, async () => tf.sub(tf.scalar(3), tf.scalar(1)).dataSync()[0]);
    expect(again.result).toBe(2);
    expect(again.profile.kernels.map((k) => k.name)).toContain('Sub');
    expect(again.profile.kernels.map((k) => k.name)).not.toContain('Add');
  });
});
