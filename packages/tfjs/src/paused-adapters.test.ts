import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { AdapterBank, AdapterSlot } from '@alto/core';
import { PausedAdapters } from './paused-adapters.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function slot(name: string, seed: number): AdapterSlot<tf.Tensor> {
  // Variables outlive the scope; their initial values do not.
  tf.engine().startScope();
  try {
    return newSlot(name, seed);
  } finally {
    tf.engine().endScope();
  }
}

function newSlot(name: string, seed: number): AdapterSlot<tf.Tensor> {
  const layers = new Map([['l0', { A: tf.variable(tf.randomNormal([6, 2], 0, 1, 'float32', seed)), B: tf.variable(tf.randomNormal([2, 5], 0, 1, 'float32', seed + 1)) }]]);
  return {
    name, config: { rank: 2 } as AdapterSlot<tf.Tensor>['config'], task: 't', trialId: name, stepsDone: 3, samplesDone: 6, layers,
    optimizerState: { slots: [[tf.variable(tf.fill([6, 2], seed), false)]], step: 3 }, admittedAtStep: 0,
  };
}

const values = (s: AdapterSlot<tf.Tensor>) => [...s.layers.values()].flatMap(({ A, B }) => [...A.dataSync(), ...B.dataSync()]).concat(...s.optimizerState.slots.flat().map((t) => [...t.dataSync()]));

describe('PausedAdapters', () => {
  it('parked on the device, an adapter comes back as the same tensors; moved to the host, with the same values', async () => {
    const bank = new AdapterBank<tf.Tensor>((t) => t.dispose());
    const paused = new PausedAdapters(bank);
    const before = tf.memory().numTensors;
    const a = slot('a', 1);
    const b = slot('b', 5);
    const [va, vb] = [values(a), values(b)];
    bank.admit(a);
    bank.admit(b);
    await paused.add(bank.detach('a'), 'device');
    await paused.add(bank.detach('b'), 'host');
    expect(paused.size).toBe(2);
    expect(paused.onDevice).toBe(1);
    expect(paused.deviceBytes()).toBe(4 * (6 * 2 + 2 * 5 + 6 * 2)); // a's A, B and optimizer slot; b's are on the host
    expect(tf.memory().numTensors - before).toBe(3); // b's three tensors are freed, a's kept
    expect(paused.infos().map((i) => [i.name, i.stepsDone])).toEqual([['a', 3], ['b', 3]]);
    const a2 = paused.take('a');
    expect(a2).toBe(a);
    const b2 = paused.take('b');
    expect(values(b2)).toEqual(vb);
    expect(values(a2)).toEqual(va);
    expect(b2.optimizerState.step).toBe(3);
    expect(paused.size).toBe(0);
    bank.admit(a2);
    bank.admit(b2);
    bank.retire('a');
    bank.retire('b');
    expect(tf.memory().numTensors).toBe(before);
  });

  it('evictToHost moves the parked ones off the device; drop frees and hands back the weights when asked', async () => {
    const bank = new AdapterBank<tf.Tensor>((t) => t.dispose());
    const paused = new PausedAdapters(bank);
    const before = tf.memory().numTensors;
    const a = slot('a', 2);
    const b = slot('b', 7);
    const wantA = [...a.layers.get('l0')!.A.dataSync()];
    const wantB = [...b.layers.get('l0')!.B.dataSync()];
    await paused.add(a, 'device');
    await paused.add(b, 'device');
    expect(await paused.evictToHost()).toBe(2);
    expect(paused.onDevice).toBe(0);
    expect(tf.memory().numTensors).toBe(before);
    const wa = await paused.drop('a', true);
    expect([...wa!.l0.A.data]).toEqual(wantA);
    expect(await paused.drop('b', false)).toBeUndefined();
    const c = slot('c', 9);
    await paused.add(c, 'device');
    const wc = await paused.drop('c', true);
    expect(wc!.l0.B.shape).toEqual([2, 5]);
    expect(tf.memory().numTensors).toBe(before);
    const d = slot('d', 11);
    await paused.add(d, 'device');
    expect(() => paused.take('x')).toThrow(/not paused/);
    await expect(paused.add(d, 'host')).rejects.toThrow(/already paused/);
    expect(wantB.length).toBe(10);
    paused.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
