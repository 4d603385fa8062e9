import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { AdapterConfig, AdapterWeights, TrialRecord } from '@alto/core';
import { LossLedger } from './loss-ledger.js';
import { wrapModel } from './model.js';
import { Trainer, TrainerOptions } from './trainer.js';
import { describeOutOfMemory } from './out-of-memory.js';
import { config, mlp, perExampleCrossEntropy, relErr, source } from './test-support/fixtures.js';
import type { TfjsSession } from './trainer.js';
import type { DataSource } from './data.js';

const FOUR: AdapterConfig[] = [
  config({ rank: 1, alpha: 2, learningRate: 3e-2, batchSize: 3, seed: 11 }),
  config({ rank: 4, alpha: 8, learningRate: 1e-2, batchSize: 8, seed: 12, weightDecay: 0.1 }),
  config({ rank: 8, alpha: 4, learningRate: 5e-3, batchSize: 5, seed: 13, optimizer: { type: 'sgd', momentum: 0.9 } }),
  config({ rank: 16, alpha: 32, learningRate: 2e-2, batchSize: 1, seed: 14, dropout: 0.2 }),
];

interface Run {
  trials: TrialRecord[];
  session?: TfjsSession;
}

async function train(configs: { task?: string; id: string; config: AdapterConfig }[], opts: TrainerOptions & { data?: Record<string, DataSource>; plugins?: ((t: Trainer) => void)[] } = {}): Promise<Run> {
  const model = mlp(3);
  const base = wrapModel(model);
  const data = opts.data ?? { main: source(5, 96) };
  const tasks = Object.entries(data).map(([name, train]) => ({ name, train, valid: train }));
  const trainer = new Trainer(base, perExampleCrossEntropy, tasks, { keepAllWeights: true, evalEvery: 5, validRows: 32, ...opts });
  opts.plugins?.forEach((p) => p(trainer));
  for (const c of configs) trainer.enqueue(c.task ?? 'main', c.id, c.config);
  const trials = await trainer.run();
  base.detach();
  model.dispose();
  return { trials, session: trainer.session };
}

/** The model, with a forward that fails as the CUDA backend's allocator does whenever `full(x)`. */
function outOfMemoryWhen<M extends { forward(x: tf.Tensor): tf.Tensor }>(base: M, full: (x: tf.Tensor) => boolean): M {
  return Object.assign(Object.create(base), {
    forward: (x: tf.Tensor) => {
      if (full(x)) throw new Error('alloc: CUDA error (cudaMalloc: out of memory)');
      return base.forward(x);
    },
  });
}

/** Each adapter steps aside after its 7th step for four executor steps (parked meanwhile); `parked` tracks who is. */
function stepAsideAfterSeven(trainer: Trainer, parked: Set<string>): void {
  const pausedAt = new Map<string, number>();
  trainer.session.hooks.shouldPause.tap('pause-a-while', (a, { step }) => {
    const at = pausedAt.get(a.name);
    if (at === undefined) {
      if (a.stepsDone !== 7) return undefined;
      pausedAt.set(a.name, step);
      return true;
    }
    return step < at + 4 ? true : undefined;
  });
  trainer.session.hooks.adapterRetired.tap('track', (a, reason) => void (reason === 'paused' && parked.add(a.name)));
  trainer.session.hooks.adapterAdmitted.tap('track', (a) => void parked.delete(a.name));
}

function maxWeightError(a: AdapterWeights, b: AdapterWeights): number {
  let worst = 0;
  expect(Object.keys(a).sort()).toEqual(Object.keys(b).sort());
  for (const layer of Object.keys(b)) {
    worst = Math.max(worst, relErr(a[layer].A.data, b[layer].A.data), relErr(a[layer].B.data, b[layer].B.data));
  }
  return worst;
}

describe.each(['wasm', 'cpu'])('batched training on %s', (backend) => {
  beforeAll(async () => {
    await tf.setBackend(backend);
    await tf.ready();
  });

  it('4 adapters (ranks 1, 4, 8, 16; own lr, batch, optimizer) batched equal each trained alone', async () => {
    const specs = FOUR.map((c, i) => ({ id: `t${i}`, config: c }));
    const batched = await train(specs);
    for (const [i, spec] of specs.entries()) {
      const alone = await train([spec]);
      const b = batched.trials[i];
      const a = alone.trials[0];
      expect(b.status).toBe('completed');
      expect(b.steps).toBe(20);
      expect(b.samples).toBe(20 * spec.config.batchSize);
      const err = maxWeightError(b.weights!, a.weights!);
      console.info(`invariant on ${backend}, ${spec.id} (rank ${spec.config.rank}): max relative error ${err.toExponential(2)}`);
      expect(err, `trial ${spec.id}`).toBeLessThanOrEqual(1e-4);
      // and training did something: B starts at zero
      expect(Math.max(...Object.values(b.weights!).map((w) => Math.max(...w.B.data.map(Math.abs))))).toBeGreaterThan(1e-4);
      expect(b.trainLoss.map((p) => p.step)).toEqual(Array.from({ length: 20 }, (_, k) => k + 1));
      expect(relErr(b.trainLoss.map((p) => p.loss), a.trainLoss.map((p) => p.loss))).toBeLessThan(1e-4);
      expect(b.validLoss.map((p) => p.step)).toEqual([5, 10, 15, 20]);
      expect(b.finalValLoss).not.toBeNull();
    }
  });

  it('an adapter retired mid-run frees its tensors and leaves the others as before', async () => {
    const specs = FOUR.map((c, i) => ({ id: `t${i}`, config: c }));
    // tensors alive at step 10, counted from before the run started
    let before = 0;
    const countAt = (step: number, into: number[]) => (t: Trainer) =>
      t.session.hooks.afterStep.tap('count', ({ step: s }) => {
        if (s === step) into.push(tf.memory().numTensors - before);
      });
    const withRetire: number[] = [];
    const retireAt5 = (t: Trainer) =>
      t.session.hooks.shouldRetire.tap('retire-t1', (a, { step }) => (a.trialId === 't1' && step === 4 ? 'cancelled' : undefined));
    before = tf.memory().numTensors;
    const run = await train(specs, { plugins: [retireAt5, countAt(10, withRetire)], reportEvery: 1 });
    const without: number[] = [];
    before = tf.memory().numTensors;
    const ref = await train(specs.filter((s) => s.id !== 't1'), { plugins: [countAt(10, without)], reportEvery: 1 });
    expect(run.trials[1].status).toBe('exited');
    expect(run.trials[1].reason).toBe('cancelled');
    expect(run.trials[1].steps).toBe(5);
    expect(withRetire).toHaveLength(1);
    expect(withRetire[0]).toBe(without[0]);
    for (const id of ['t0', 't2', 't3']) {
      const a = run.trials.find((t) => t.id === id)!;
      const b = ref.trials.find((t) => t.id === id)!;
      expect(maxWeightError(a.weights!, b.weights!)).toBeLessThanOrEqual(1e-6);
    }
  });

  it.each(['device', 'host'] as const)('an adapter paused mid-run (its weights and optimizer state kept on the %s) resumes exactly where it was', async (pauseTo) => {
    const specs = FOUR.map((c, i) => ({ id: `t${i}`, config: c }));
    // Each adapter steps aside once, after its 7th step; with maxConcurrent 2 others run meanwhile.
    const asked = new Set<string>();
    const pauseOnce = (t: Trainer) =>
      t.session.hooks.shouldPause.tap('pause-once', (a) => {
        if (a.stepsDone !== 7 || asked.has(a.name)) return undefined;
        asked.add(a.name);
        return true;
      });
    const paused: string[] = [];
    const countPauses = (t: Trainer) => t.session.hooks.adapterRetired.tap('count', (a, reason) => void (reason === 'paused' && paused.push(a.name)));
    const run = await train(specs, { plugins: [pauseOnce, countPauses], maxConcurrent: 2, pauseTo });
    expect(paused.length).toBe(4);
    for (const [i, spec] of specs.entries()) {
      const alone = await train([spec]);
      expect(run.trials[i].status).toBe('completed');
      expect(maxWeightError(run.trials[i].weights!, alone.trials[0].weights!), spec.id).toBeLessThanOrEqual(1e-4);
      expect(relErr(run.trials[i].trainLoss.map((p) => p.loss), alone.trials[0].trainLoss.map((p) => p.loss))).toBeLessThan(1e-4);
    }
  });

  it('leaves no tensor behind: every weight, optimizer slot, loss and batch is freed', async () => {
    const model = mlp(3);
    const base = wrapModel(model);
    const data = source(5, 96);
    const before = tf.memory().numTensors;
    const trainer = new Trainer(base, perExampleCrossEntropy, [{ name: 'main', train: data, valid: data }], { evalEvery: 3, maxConcurrent: 2 });
    FOUR.forEach((c, i) => trainer.enqueue('main', `t${i}`, c));
    const trials = await trainer.run();
    expect(trials.every((t) => t.status === 'completed')).toBe(true);
    expect(tf.memory().numTensors).toBe(before);
    base.detach();
    model.dispose();
  });

  it('a best-weight read that fails ends the run with its error once every trial has finished, nothing left allocated', async () => {
    const settle = LossLedger.prototype.settle;
    // t1's read fails (its device copy is freed all the same); the others' go through.
    const spy = vi.spyOn(LossLedger.prototype, 'settle').mockImplementation(function (this: LossLedger, trial: TrialRecord, keep: boolean) {
      if (trial.id !== 't1') return settle.call(this, trial, keep);
      return settle.call(this, trial, false).then(() => Promise.reject(new Error('download: device lost')));
    });
    const model = mlp(3);
    const base = wrapModel(model);
    const data = source(5, 96);
    const before = tf.memory().numTensors;
    const trainer = new Trainer(base, perExampleCrossEntropy, [{ name: 'main', train: data, valid: data }], { evalEvery: 3, maxConcurrent: 2, keepAllWeights: true });
    FOUR.forEach((c, i) => trainer.enqueue('main', `t${i}`, c));
    try {
      await expect(trainer.run()).rejects.toThrow(/device lost/);
      expect(trainer.trials.map((t) => t.status)).toEqual(['completed', 'completed', 'completed', 'completed']);
      expect(trainer.trials.filter((t) => t.weights).map((t) => t.id)).toEqual(['t0', 't2', 't3']);
      expect(tf.memory().numTensors).toBe(before);
    } finally {
      spy.mockRestore();
      base.detach();
      model.dispose();
    }
  });

  it('a step out of memory is taken again with fewer rows: no adapter lost, the same weights as each trained alone', async () => {
    const model = mlp(3);
    const base = wrapModel(model);
    // A device with room for 7 rows: a bigger forward fails as the CUDA backend's allocator does.
    const small = outOfMemoryWhen(base, (x) => x.shape[0] > 7);
    const data = source(5, 96);
    const run = async (specs: { id: string; config: AdapterConfig }[]) => {
      const trainer = new Trainer(small, perExampleCrossEntropy, [{ name: 'main', train: data, valid: data }], { keepAllWeights: true, evalEvery: 3, validRows: 4 });
      const paused: string[] = [];
      trainer.session.hooks.adapterRetired.tap('test', (a, reason) => void (reason === 'paused' && paused.push(a.name)));
      for (const c of specs) trainer.enqueue('main', c.id, c.config);
      return { trials: await trainer.run(), paused, oom: trainer.outOfMemorySteps, records: trainer.outOfMemory };
    };
    const before = tf.memory().numTensors;
    // 5 rows, then 7, then 11: out of memory with four adapters resident; two wait on the host.
    const specs = [0, 1, 2, 3].map((i) => ({ id: `t${i}`, config: config({ rank: 2 + i, alpha: 4, learningRate: 1e-2 * (i + 1), batchSize: 2, seed: 30 + i, steps: 6 }) }));
    specs.push({ id: 'mid', config: config({ rank: 3, alpha: 6, learningRate: 2e-2, batchSize: 5, seed: 35, steps: 6 }) });
    const shrunk = await run(specs);
    expect(tf.memory().numTensors).toBe(before); // nothing of the failed steps remains
    expect(shrunk.oom).toBeGreaterThanOrEqual(1);
    expect(shrunk.paused.length).toBeGreaterThan(0);
    // What each failed step was, against the capacity model (the cpu backend counts no device bytes).
    const first = shrunk.records[0];
    expect(first.rows).toBeGreaterThan(7);
    expect(first.adapters).toBeGreaterThanOrEqual(2);
    expect(first.allowedBytes).toBeNull(); // no device budget on cpu
    expect(first.reachedBytes).toBeNull();
    expect(describeOutOfMemory(first)).toMatch(new RegExp(`^step \\d+: ${first.rows} rows of ${first.adapters} adapters \\(rank sum ${first.rankSum}\\), predicted .* of unbounded allowed, reached \\? before \\(pool \\?\\): alloc: CUDA error \\(cudaMalloc: out of memory\\)$`));
    for (const spec of specs) {
      const t = shrunk.trials.find((x) => x.id === spec.id)!;
      expect([t.status, t.steps, t.samples]).toEqual(['completed', 6, 6 * spec.config.batchSize]);
      const alone = await train([spec], { evalEvery: 3, validRows: 4 });
      expect(maxWeightError(t.weights!, alone.trials[0].weights!)).toBeLessThanOrEqual(1e-4);
    }
    // An adapter that does not fit even alone exits with reason error; the others go on.
    const beforeBig = tf.memory().numTensors;
    const withBig = await run([specs[0], { id: 'big', config: config({ rank: 2, alpha: 4, learningRate: 1e-2, batchSize: 8, seed: 40, steps: 6 }) }]);
    expect(withBig.trials.map((t) => [t.id, t.status, t.reason]).sort()).toEqual([['big', 'exited', 'error'], ['t0', 'completed', null]]);
    expect(tf.memory().numTensors).toBe(beforeBig);
    base.detach();
    model.dispose();
  });

  it('a device that counts its bytes: a step out of memory below the budget bounds the steps where it failed, and none fails again', async () => {
    const model = mlp(3);
    const base = wrapModel(model);
    // A device of 100 MB whose allocator fails at 8 rows (45 MB in use), far under the budget:
    // each step peaks at 10 MB + 5 MB a row; counts as the CUDA backend reports them.
    const MB = 2 ** 20;
    let rows = 0;
    const counting = Object.assign(Object.create(base), {
      forward: (x: tf.Tensor) => {
        rows = Math.max(rows, Math.min(x.shape[0], 7)); // how far the device got
        if (x.shape[0] > 7) throw new Error('alloc: CUDA error (cudaMalloc: out of memory)');
        return base.forward(x);
      },
    });
    const backend = tf.backend() as unknown as { memory(): tf.MemoryInfo; resetPeakMemory?: () => void; releaseCachedMemory?: () => void };
    const memory = vi.spyOn(backend, 'memory').mockImplementation(() => ({
      unreliable: false, numBytesInGPU: 10 * MB, numBytesInGPUPeak: (10 + 5 * rows) * MB,
      numBytesInGPUAllocated: 96 * MB, numBytesDeviceCapacity: 100 * MB,
    }) as unknown as tf.MemoryInfo);
    backend.resetPeakMemory = () => void (rows = 0);
    let releases = 0;
    backend.releaseCachedMemory = () => void releases++;
    const stepRows: number[] = [], triedRows: number[] = [];
    const trainer = new Trainer(counting, perExampleCrossEntropy, [{ name: 'main', train: source(5, 96), valid: source(5, 96) }], { keepAllWeights: true, profileSteps: 2, validRows: 4 });
    trainer.session.hooks.afterStep.tap('rows', ({ plan }) => void stepRows.push(plan.totalRows));
    trainer.session.hooks.beforeStep.tap('rows', ({ plan }) => void triedRows.push(plan.totalRows));
    const specs = [0, 1, 2, 3, 4].map((i) => ({ id: `t${i}`, config: config({ rank: 2 + i, alpha: 4, learningRate: 1e-2, batchSize: 2, seed: 50 + i, steps: 6 }) }));
    try {
      for (const c of specs) trainer.enqueue('main', c.id, c.config);
      const trials = await trainer.run();
      expect(trials.map((t) => [t.status, t.steps])).toEqual(specs.map(() => ['completed', 6]));
      expect(trainer.outOfMemorySteps).toBe(1); // the bound learnt from it held every later step
      const [record] = trainer.outOfMemory;
      expect(record.rows).toBeGreaterThan(7);
      expect(record.reachedBytes).toBe(45 * MB);
      expect(record.reservedBytes).toBe(96 * MB);
      expect(record.predictedBytes!).toBeGreaterThan(45 * MB); // the fit was right; the device failed under it
      expect(record.allowedBytes!).toBeCloseTo(90 * MB, -3); // the budget less the margin (nothing held)
      expect(trainer.memoryBound.maxInUseBytes).toBeCloseTo(45 * MB * 0.95, 0);
      expect(trainer.memoryBound.maxRows).toBe(Infinity); // bytes, not rows, where the device counts them
      expect(trainer.memoryBound.describe()).toMatch(/^steps predicted under \d+\.\d GiB in use$/);
      // Every step after the failure within the bound: (45 MB · 0.95 − 10 MB) / 5 MB a row.
      const failedAt = stepRows.findIndex((_, i) => i >= record.step - 1);
      expect(Math.max(...stepRows.slice(failedAt))).toBeLessThanOrEqual(6);
      // The cached memory went back to the device before each step larger than all before it, only then.
      const records = triedRows.filter((r, i) => r > Math.max(0, ...triedRows.slice(0, i)));
      expect(records.length).toBeGreaterThanOrEqual(2);
      expect(releases).toBe(records.length);
    } finally {
      memory.mockRestore();
      delete backend.resetPeakMemory;
      delete backend.releaseCachedMemory;
      base.detach();
      model.dispose();
    }
  });

  it.each(['device', 'host'] as const)('started trials that do not all fit take turns (fairShareLead, parked on the %s): none trains alone at the end, each as trained alone', async (pauseTo) => {
    const specs = FOUR.slice(0, 3).map((c, i) => ({ id: `t${i}`, config: c }));
    // t1 (admitted first, with t2: the largest batches) steps aside after its 3rd step for 4
    // executor steps; t0 takes its place meanwhile.
    const stepAside = (t: Trainer) => {
      let at: number | undefined;
      t.session.hooks.shouldPause.tap('step-aside', (a, { step }) => {
        if (a.trialId !== 't1') return undefined;
        if (at === undefined && a.stepsDone === 3) at = step;
        return at !== undefined && step < at + 4 ? true : undefined;
      });
    };
    const sweep = async (fairShareLead: number) => {
      const sizes: number[] = [];
      const parks: string[] = [];
      const record = (t: Trainer) => {
        t.session.hooks.afterStep.tap('sizes', ({ plan }) => void sizes.push(plan.adapters.length));
        t.session.hooks.adapterRetired.tap('parks', (a, reason) => void (reason === 'paused' && a.stepsDone > 0 && parks.push(a.trialId)));
      };
      const run = await train(specs, { plugins: [stepAside, record], maxConcurrent: 2, profileSteps: 0, fairShareLead, pauseTo, data: { main: data } });
      return { run, sizes, parks };
    };
    const data = source(5, 96);
    const before = tf.memory().numTensors;
    const greedy = await sweep(0);
    const shared = await sweep(2);
    expect(tf.memory().numTensors).toBe(before); // parked and resumed adapters freed like the rest
    // Without fair share t1 waits for a resident trial to finish, then trains on alone.
    expect(greedy.parks).toEqual(['t1']);
    expect(greedy.sizes.filter((n) => n === 1).length).toBeGreaterThanOrEqual(10);
    // With it the three take turns: more parks, one lone step at most, fewer executor steps.
    expect(shared.parks.length).toBeGreaterThan(3);
    expect(new Set(shared.parks)).toEqual(new Set(['t0', 't1', 't2']));
    expect(shared.sizes.filter((n) => n === 1).length).toBeLessThanOrEqual(2);
    expect(shared.sizes.length).toBeLessThan(greedy.sizes.length);
    expect(shared.sizes.reduce((a, b) => a + b, 0)).toBe(60);
    for (const [i, spec] of specs.entries()) {
      const alone = await train([spec]);
      for (const { run } of [greedy, shared]) {
        expect(run.trials[i].status).toBe('completed');
        expect(run.trials[i].steps).toBe(20);
        expect(maxWeightError(run.trials[i].weights!, alone.trials[0].weights!), spec.id).toBeLessThanOrEqual(1e-4);
      }
    }
  });

  it('out of memory with adapters parked on the device: they move to the host and the same step is taken again', async () => {
    const model = mlp(3);
    const base = wrapModel(model);
    const parked = new Set<string>();
    let failed = 0;
    // The first forward while an adapter is parked on the device fails, as the allocator would.
    const tight = outOfMemoryWhen(base, () => parked.size > 0 && failed === 0 && ++failed === 1); // once
    const data = source(5, 96);
    const specs = FOUR.map((c, i) => ({ id: `t${i}`, config: c }));
    const before = tf.memory().numTensors;
    const trainer = new Trainer(tight, perExampleCrossEntropy, [{ name: 'main', train: data, valid: data }], { keepAllWeights: true, evalEvery: 5, validRows: 32, maxConcurrent: 2 });
    stepAsideAfterSeven(trainer, parked);
    for (const c of specs) trainer.enqueue('main', c.id, c.config);
    const trials = await trainer.run();
    expect(failed).toBe(1);
    expect(trainer.outOfMemorySteps).toBe(1);
    expect(trainer.memoryBound.maxRows).toBe(Infinity); // the parked state made room: no resident adapter was paused, no row bound set
    expect(tf.memory().numTensors).toBe(before); // the failed step, the evicted copies and every adapter freed
    for (const [i, spec] of specs.entries()) {
      const alone = await train([spec]);
      expect(trials[i].status).toBe('completed');
      expect(maxWeightError(trials[i].weights!, alone.trials[0].weights!), spec.id).toBeLessThanOrEqual(1e-4);
    }
    base.detach();
    model.dispose();
  });

  it('out of memory with adapters parked on the device, where the device counts its bytes: after they move to the host, the resident ones are still fitted to the lowered bound', async () => {
    const model = mlp(3);
    const base = wrapModel(model);
    const parked = new Set<string>();
    let failed = 0, rows = 0;
    const MB = 2 ** 20;
    // Each step peaks at 10 MB + 5 MB a row; the first forward while an adapter is parked fails
    // there (the pool, fragmented, gave out at what the step had reached).
    const tight = Object.assign(Object.create(base), {
      forward: (x: tf.Tensor) => {
        rows = Math.max(rows, x.shape[0]);
        if (parked.size > 0 && failed === 0) {
          failed = 1;
          throw new Error('alloc: CUDA error (cudaMalloc: out of memory)');
        }
        return base.forward(x);
      },
    });
    const backend = tf.backend() as unknown as { memory(): tf.MemoryInfo; resetPeakMemory?: () => void };
    const memory = vi.spyOn(backend, 'memory').mockImplementation(() => ({
      unreliable: false, numBytesInGPU: 10 * MB, numBytesInGPUPeak: (10 + 5 * rows) * MB, numBytesInGPUAllocated: 200 * MB, numBytesDeviceCapacity: 1000 * MB,
    }) as unknown as tf.MemoryInfo);
    backend.resetPeakMemory = () => void (rows = 0);
    const data = source(5, 96);
    const specs = FOUR.map((c, i) => ({ id: `t${i}`, config: c }));
    const trainer = new Trainer(tight, perExampleCrossEntropy, [{ name: 'main', train: data, valid: data }], { keepAllWeights: true, evalEvery: 5, validRows: 4, maxConcurrent: 2 });
    stepAsideAfterSeven(trainer, parked);
    const tried: number[] = [];
    trainer.session.hooks.beforeStep.tap('rows', ({ plan }) => void tried.push(plan.totalRows));
    try {
      for (const c of specs) trainer.enqueue('main', c.id, c.config);
      const trials = await trainer.run();
      expect(failed).toBe(1);
      expect(trainer.outOfMemorySteps).toBe(1);
      const [record] = trainer.outOfMemory;
      expect(record.reachedBytes).toBe((10 + 5 * record.rows) * MB);
      // The failed rows do not fit the bound it taught: the next attempt has fewer.
      expect(tried[record.step]).toBe(record.rows); // the attempts before it were the steps before it
      expect(tried[record.step + 1]).toBeLessThan(record.rows);
      for (const [i, spec] of specs.entries()) {
        const alone = await train([spec]);
        expect(trials[i].status).toBe('completed');
        expect(maxWeightError(trials[i].weights!, alone.trials[0].weights!), spec.id).toBeLessThanOrEqual(1e-4);
      }
    } finally {
      memory.mockRestore();
      delete backend.resetPeakMemory;
      base.detach();
      model.dispose();
    }
  });

  it('a NaN loss retires only that adapter, with reason nan', async () => {
    const good = source(5, 96);
    const poisoned: DataSource = {
      size: 40,
      gather: (idx) => {
        const { x, y } = good.gather(idx);
        const bad = tf.mul(y, NaN);
        y.dispose();
        return { x, y: bad };
      },
    };
    const specs = [
      { id: 't0', config: FOUR[0] },
      { task: 'poisoned', id: 'p0', config: FOUR[1] },
      { id: 't2', config: FOUR[2] },
    ];
    const run = await train(specs, { data: { main: good, poisoned }, reportEvery: 2 });
    const ref = await train(specs.filter((s) => s.task !== 'poisoned'), { data: { main: good } });
    const p = run.trials.find((t) => t.id === 'p0')!;
    expect(p.status).toBe('exited');
    expect(p.reason).toBe('nan');
    expect(p.steps).toBeLessThanOrEqual(2);
    for (const id of ['t0', 't2']) {
      const a = run.trials.find((t) => t.id === id)!;
      const b = ref.trials.find((t) => t.id === id)!;
      expect(a.status).toBe('completed');
      expect(maxWeightError(a.weights!, b.weights!)).toBeLessThanOrEqual(1e-6);
    }
  });
});
