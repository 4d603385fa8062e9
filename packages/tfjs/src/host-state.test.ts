import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { readAll } from './host-state.js';

describe('readAll', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  // Device reads that take 5 ms each; `most` is the most in flight at once.
  const countReads = () => {
    const backend = tf.backend();
    const read = backend.read.bind(backend);
    let inFlight = 0;
    const counter = { most: 0, restore: () => spy.mockRestore() };
    const spy = vi.spyOn(backend, 'read').mockImplementation(async (dataId) => {
      counter.most = Math.max(counter.most, ++inFlight);
      try {
        const values = read(dataId); // the values are taken as the read begins (as the CUDA backend's)
        await new Promise((r) => setTimeout(r, 5));
        return await values;
      } finally {
        inFlight--;
      }
    });
    return counter;
  };

  it('reads in turn one after another, with the values of the call, and frees the copies', async () => {
    const reads = countReads();
    const before = tf.memory().numTensors;
    const variable = (t: tf.Tensor) => {
      const v = tf.variable(t);
      t.dispose();
      return v;
    };
    const pairs = [1, 2, 3].map((k) => [variable(tf.fill([2, 3], k)), variable(tf.fill([4], -k))]);
    tf.engine().startScope(); // a caller's scope, which ends before the reads' turns
    const pending = pairs.map((p) => readAll(p, { inTurn: true }));
    tf.engine().endScope();
    for (const [a] of pairs) tf.tidy(() => a.assign(tf.zeros([2, 3]))); // after the call: not in the values read
    const host = await Promise.all(pending);
    reads.restore();
    expect(reads.most).toBe(1);
    host.forEach((h, i) => {
      expect(h.map((t) => t.shape)).toEqual([[2, 3], [4]]);
      expect(Array.from(h[0].data)).toEqual(Array(6).fill(i + 1));
      expect(Array.from(h[1].data)).toEqual(Array(4).fill(-(i + 1)));
    });
    tf.dispose(pairs.flat());
    expect(tf.memory().numTensors).toBe(before);
  });

  it('without inTurn, starts every read at once', async () => {
    const reads = countReads();
    const ts = [1, 2, 3].map((k) => [tf.fill([2], k), tf.fill([3], k)]);
    await Promise.all(ts.map((p) => readAll(p)));
    reads.restore();
    expect(reads.most).toBe(3);
    tf.dispose(ts.flat());
  });
});
