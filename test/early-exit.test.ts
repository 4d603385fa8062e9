import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { expandSearchSpace, Rng } from '@alto/core';
import { earlyExit } from '@alto/early-exit';
import { fromTensors, Trainer, wrapModel } from '@alto/tfjs';

beforeAll(async () => {
  await tf.setBackend('wasm');
  await tf.ready();
});

function data(seed: number, n: number) {
  const rng = new Rng(seed);
  const xs = Float32Array.from({ length: n * 8 }, () => rng.uniform(-1, 1));
  const labels = Int32Array.from({ length: n }, (_, i) => (xs[i * 8] + xs[i * 8 + 1] > 0 ? 1 : 0) + (xs[i * 8 + 2] > 0.3 ? 2 : 0));
  return fromTensors(tf.tensor2d(xs, [n, 8]), tf.cast(tf.oneHot(tf.tensor1d(labels, 'int32'), 4), 'float32'));
}

describe('early exit inside the trainer (tfjs, wasm)', () => {
  it('rotates a sweep larger than capacity through screening, cuts, backfills and keeps the best', async () => {
    const model = tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [8], units: 32, activation: 'relu', name: 'h', kernelInitializer: tfl.initializers.glorotUniform({ seed: 1 }) }), tfl.layers.dense({ units: 4, name: 'out', kernelInitializer: tfl.initializers.glorotUniform({ seed: 2 }) })] });
    const base = wrapModel(model);
    const trainer = new Trainer(base, (y, p) => tf.losses.softmaxCrossEntropy(y, p, undefined, 0, tf.Reduction.NONE), [{ name: 'task', train: data(1, 256), valid: data(2, 64) }], { maxConcurrent: 4, reportEvery: 2 });
    const plugin = earlyExit({ evalEvery: 2, warmupFraction: 0.1 });
    trainer.session.use(plugin);
    const events: string[] = [];
    trainer.session.hooks.adapterAdmitted.tap('log', (a) => events.push(`+${a.trialId}@${trainer.session.step}`));
    trainer.session.hooks.adapterRetired.tap('log', (a, r) => events.push(`-${a.trialId}:${r}@${trainer.session.step}`));
    // 12 configurations, 4 fit at once; two learning rates are far too large
    const trials = expandSearchSpace({ learningRate: [1e-3, 1e-2, 3e-2, 3, 30, 3e-4], rank: [2, 8] }, { batchSize: 8, steps: 60 });
    for (const t of trials) trainer.enqueue('task', t.id, t.config);
    const tensorsBefore = tf.memory().numTensors;
    const done = await trainer.run();
    if (process.env.ALTO_DEBUG) console.log(events.join(' '), '\n', done.map((t) => `${t.id} lr=${t.config.learningRate} r=${t.config.rank} ${t.status}/${t.reason} steps=${t.steps} best=${t.bestValLoss?.toFixed(3)}`).join('\n'), plugin.cuts.get('task'));
    expect(tf.memory().numTensors).toBe(tensorsBefore);

    // every configuration was screened: it reached the end of warm-up (6 steps) or exited before
    for (const t of done) {
      const screened = t.validLoss.some((p) => p.step >= 6);
      expect(screened || (t.status === 'exited' && t.reason !== 'underperforming'), `${t.id}: ${JSON.stringify(t.validLoss)}`).toBe(true);
    }
    // rotation happened: adapters stepped aside after screening while others waited
    expect(events.some((e) => e.includes(':paused'))).toBe(true);
    const cut = plugin.cuts.get('task')!;
    expect(cut).toBeDefined();
    expect(cut.keep.length).toBeGreaterThanOrEqual(Math.ceil(0.25 * (cut.keep.length + cut.cut.length)));
    const reasons = done.map((t) => t.reason);
    expect(reasons.filter((r) => r === 'underperforming').length).toBe(cut.cut.length);
    // the too-large learning rates do not survive
    for (const t of done.filter((t) => t.config.learningRate >= 3)) expect(t.status).toBe('exited');
    // survivors ran to the end; the sweep trained far fewer samples than its budget
    for (const name of cut.keep) {
      const t = done.find((x) => x.name === name)!;
      if (t.reason === null) expect(t.steps).toBe(60);
    }
    const samples = done.reduce((n, t) => n + t.samples, 0);
    expect(samples).toBeLessThan(0.6 * 12 * 60 * 8);
    // the returned adapter is a best-validation checkpoint of a survivor
    const best = done.find((t) => t.weights);
    expect(best).toBeDefined();
    expect(cut.keep).toContain(best!.name);
    base.detach();
    model.dispose();
  });
});
