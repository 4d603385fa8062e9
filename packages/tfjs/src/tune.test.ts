import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadAdapterCheckpoint, Rng } from '@alto/core';
import { linear } from './lora-scope.js';
import { wrapModel } from './model.js';
import { predictWithAdapter } from './adapter-weights.js';
import { tune } from './tune.js';
import { mlp, perExampleCrossEntropy, relErr, source } from './test-support/fixtures.js';

const dirs: string[] = [];
afterAll(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

beforeAll(async () => {
  await tf.setBackend('wasm');
  await tf.ready();
});

/** A function model: two linear layers written with tf ops. */
function functionModel(seed: number) {
  const rng = new Rng(seed);
  const w = (r: number, c: number) => tf.tensor2d(Float32Array.from({ length: r * c }, () => rng.uniform(-0.5, 0.5)), [r, c]);
  const w1 = w(12, 24);
  const b1 = tf.zeros([24]);
  const w2 = w(24, 5);
  return {
    forward: (x: tf.Tensor) => linear('head', tf.relu(linear('body', x, w1, b1)), w2),
    dispose: () => tf.dispose([w1, b1, w2]),
  };
}

describe('tune()', () => {
  it('tunes a function model; targets by pattern; returns histories and the best adapter', async () => {
    const m = functionModel(1);
    const result = await tune({
      model: m.forward,
      loss: perExampleCrossEntropy,
      tasks: [{ name: 'cls', train: source(5, 128), valid: source(6, 64), searchSpace: { learningRate: [1e-3, 3e-2], rank: [2, 4] }, base: { steps: 25, batchSize: 8, targets: ['bo*'] } }],
      evalEvery: 5,
    });
    expect(result.backend).toBe('wasm');
    expect(result.trials).toHaveLength(4);
    for (const t of result.trials) {
      expect(t.status).toBe('completed');
      expect(t.trainLoss).toHaveLength(25);
      expect(t.validLoss.map((p) => p.step)).toEqual([5, 10, 15, 20, 25]);
    }
    const best = result.best()!;
    expect(best).not.toBeNull();
    expect(Object.keys(best.trial.weights!)).toEqual(['body']);
    const scores = result.trials.map((t) => t.bestValLoss!);
    expect(best.trial.bestValLoss).toBe(Math.min(...scores));
    expect(best.trial.validLoss.find((p) => p.step === best.trial.weightsStep)!.loss).toBe(best.trial.bestValLoss);
    // the larger learning rate learns this task within 25 steps
    expect(best.trial.config.learningRate).toBe(3e-2);
    expect(best.trial.finalValLoss!).toBeLessThan(best.trial.validLoss[0].loss);
    expect(result.samplesTrained).toBe(4 * 25 * 8);
    m.dispose();
  });

  it('saves the best adapter and loads it back with identical outputs', async () => {
    const model = mlp(4);
    const result = await tune({
      model,
      loss: perExampleCrossEntropy,
      tasks: [{ name: 'cls', train: source(5, 128), valid: source(6, 64), searchSpace: { learningRate: [1e-2, 3e-2] }, base: { rank: 4, steps: 10, batchSize: 4 } }],
    });
    const best = result.best('cls')!;
    const dir = await mkdtemp(join(tmpdir(), 'alto-best-'));
    dirs.push(dir);
    await best.save(dir, { baseModel: 'mlp(4)' });
    const loaded = await loadAdapterCheckpoint(dir);
    expect(loaded.config).toEqual(best.trial.config);
    const x = source(9, 16).gather(Int32Array.from({ length: 16 }, (_, i) => i)).x;
    const before = best.predict(x);
    const base = wrapModel(model);
    const after = predictWithAdapter(base, loaded.weights, loaded.config, x);
    const plain = model.predict(x) as tf.Tensor;
    base.detach();
    expect(Array.from(after.dataSync())).toEqual(Array.from(before.dataSync()));
    // and the adapter changes the model: outputs differ from the plain base
    expect(relErr(after.dataSync(), plain.dataSync())).toBeGreaterThan(1e-3);
    // outside ALTO the model is untouched
    const again = model.predict(x) as tf.Tensor;
    expect(Array.from(again.dataSync())).toEqual(Array.from(plain.dataSync()));
    tf.dispose([x, before, after, plain, again]);
    model.dispose();
  });

  it('rejects bad configuration before any work, naming every bad field', async () => {
    const model = mlp(4);
    const train = source(5, 32);
    const tensorsBefore = tf.memory().numTensors;
    const attempt = tune({
      model,
      loss: perExampleCrossEntropy,
      tasks: [
        { name: 'ok', train, searchSpace: { learningRate: [1e-3, -1] }, base: { rank: 4, steps: 5, batchSize: 2 } },
        { name: 'ok', train, searchSpace: { rank: [0] }, base: { learningRate: 1e-3, steps: 5, batchSize: 2, dropout: 2 } },
      ],
    });
    await expect(attempt).rejects.toBeInstanceOf(ConfigError);
    const fields = await attempt.catch((e: ConfigError) => e.issues.map((i) => i.field));
    expect(fields).toEqual(expect.arrayContaining(['tasks[0].searchSpace.learningRate', 'tasks[1].name', 'tasks[1].searchSpace.rank', 'tasks[1].searchSpace.dropout']));
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    // a target pattern that selects nothing is refused before training
    await expect(tune({ model, loss: perExampleCrossEntropy, tasks: [{ name: 't', train, searchSpace: {}, base: { rank: 2, learningRate: 1e-3, batchSize: 2, steps: 3, targets: ['nope'] } }] }))
      .rejects.toThrow(/t\/t00\.targets: select no layer of the model \(layers: hidden, out\)/);
    model.dispose();
  });

  it('sequential mode trains the same adapters as batched mode', async () => {
    const run = (sequential: boolean) =>
      tune({
        model: mlp(7),
        loss: perExampleCrossEntropy,
        sequential,
        keepAllWeights: true,
        tasks: [{ name: 'cls', train: source(5, 64), searchSpace: { learningRate: [1e-2, 5e-3], rank: [1, 3], batchSize: [2, 5] }, base: { steps: 8 } }],
      });
    const [seq, bat] = [await run(true), await run(false)];
    expect(seq.trials).toHaveLength(8);
    for (let i = 0; i < 8; i++) {
      for (const layer of Object.keys(bat.trials[i].weights!)) {
        expect(relErr(seq.trials[i].weights![layer].B.data, bat.trials[i].weights![layer].B.data)).toBeLessThanOrEqual(1e-4);
      }
    }
  });
});
