import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { snapshotWeights } from './loss-ledger.js';

describe('best-validation snapshots', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('copy the weights with their own data, so the variables stay unshared (in-place optimizer updates stay possible)', () => {
    const a0 = tf.tensor2d([[1, -0], [3, 4]]), b0 = tf.tensor2d([[5, 6]]);
    const A = tf.variable(a0), B = tf.variable(b0);
    tf.dispose([a0, b0]);
    const backend = tf.backend() as unknown as { refCount(id: object): number };
    expect(backend.refCount(A.dataId)).toBe(1);
    const before = tf.memory().numTensors;
    const snap = snapshotWeights(new Map([['layer', { A, B }]]));
    expect(backend.refCount(A.dataId)).toBe(1);
    expect(backend.refCount(B.dataId)).toBe(1);
    const s = snap.get('layer')!;
    expect(s.A.dataId).not.toBe(A.dataId);
    expect(Array.from(s.A.dataSync())).toEqual(Array.from(A.dataSync()));
    expect(Object.is(s.A.dataSync()[1], -0)).toBe(true);
    expect(Array.from(s.B.dataSync())).toEqual([5, 6]);
    // the copies, and nothing else, are new tensors
    expect(tf.memory().numTensors).toBe(before + 2);
    A.assign(tf.zerosLike(A));
    expect(s.A.dataSync()[0]).toBe(1);
    tf.dispose([s.A, s.B, A, B]);
  });
});
