import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { newTrialRecord, Session } from '@alto/core';
import { LossLedger, snapshotWeights } from './loss-ledger.js';
import type { TfjsSession } from './trainer-options.js';

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

  it('the best one stays on the device, replaced when the loss improves, until settle reads or drops it', async () => {
    const session = new Session((t: tf.Tensor) => t.dispose()) as unknown as TfjsSession;
    const trial = newTrialRecord('task', 't0', { rank: 1 } as Parameters<typeof newTrialRecord>[2], 10);
    const trials = new Map([[trial.name, trial]]);
    const ledger = new LossLedger();
    const A = tf.variable(tf.tensor2d([[1], [2]]));
    const B = tf.variable(tf.tensor2d([[3, 4]]));
    const before = tf.memory().numTensors;
    const evaluation = (step: number, loss: number) => ({ kind: 'valid' as const, step, tensor: tf.tensor1d([loss]), entries: [{ name: trial.name, step, rows: 2, snapshot: snapshotWeights(new Map([['l', { A, B }]])) }] });
    const copyBytes = 4 * (2 + 2);
    ledger.push(evaluation(2, 0.9));
    tf.tidy(() => A.assign(tf.tensor2d([[5], [6]])));
    ledger.push(evaluation(4, 0.5)); // the best: A = [5, 6]
    tf.tidy(() => A.assign(tf.tensor2d([[7], [8]])));
    ledger.push(evaluation(6, 0.7));
    expect(ledger.deviceBytes()).toBe(3 * copyBytes); // three copies wait for their losses
    await ledger.flush(session, trials, async () => {});
    expect(ledger.deviceBytes()).toBe(copyBytes);
    expect(trial.bestValLoss).toBe(0.5);
    expect(trial.weightsStep).toBe(4);
    expect(trial.weights).toBeUndefined(); // not read yet
    expect(ledger.holdsBest(trial.name)).toBe(true);
    expect(tf.memory().numTensors).toBe(before + 2); // one copy of A and B, the others freed
    const reading = ledger.settle(trial, true);
    tf.tidy(() => A.assign(tf.tensor2d([[9], [9]]))); // the read has the values of the settle
    // the snapshot is gone; its bytes count until the read (in turn) ends
    expect(ledger.holdsBest(trial.name)).toBe(false);
    expect(ledger.deviceBytes()).toBe(copyBytes);
    await reading;
    expect(ledger.deviceBytes()).toBe(0);
    expect(Array.from(trial.weights!.l.A.data)).toEqual([5, 6]);
    expect(Array.from(trial.weights!.l.B.data)).toEqual([3, 4]);
    expect(ledger.holdsBest(trial.name)).toBe(false);
    expect(tf.memory().numTensors).toBe(before);
    ledger.push(evaluation(8, 0.1));
    await ledger.flush(session, trials, async () => {});
    await ledger.settle(trial, false);
    expect(Array.from(trial.weights!.l.A.data)).toEqual([5, 6]); // dropped, not read
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([A, B]);
  });
});
