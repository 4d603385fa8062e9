import * as tf from '@tensorflow/tfjs-core';
import {
  AdapterBank, AdapterConfig, AdapterSlot, ConfigError, createOptimizer, describeAdapter, hashSeed, loraScale,
  matchesTargets, newTrialRecord, plannedSteps, Rng, SegmentPlan, Session, TargetPattern, TrialRecord,
  validateSegmentPlan, buildSegmentPlan, IssueCollector, LossReport, RetireReason, bestTrial as bestOf,
} from '@alto/core';
import { captureWeights } from './adapter-weights.js';
import { DataCursor, DataSource } from './data.js';
import type { BaseModel, LinearLayer } from './model.js';
import { LayerBinding, LoraScope, withLoraScope } from './lora-scope.js';
import { GroupedLoraProvider, TfjsKernels, tfjsKernels } from './ops/grouped-lora.js';
import { tfParamOps } from './param-ops.js';

/** Loss of each example: [batch] or [batch, …] (the trailing axes are averaged). */
export type PerExampleLoss = (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Tensor;

export interface TaskData {
  name: string;
  train: DataSource;
  valid?: DataSource;
}

export interface TrainerOptions {
  /** Most adapters resident at once; the rest wait and fill freed slots. Default: all. */
  maxConcurrent?: number;
  /** Evaluate each adapter every this many of its steps (0: only its final weights). */
  evalEvery?: number;
  /** Validation examples per evaluation (the first ones of the validation set). */
  validRows?: number;
  /** Most rows of one evaluation forward pass. */
  evalBatchRows?: number;
  /** Read losses from the device every this many steps, not in every step. */
  reportEvery?: number;
  /** Layers that get LoRA when a configuration names none. Default: every linear layer. */
  targets?: TargetPattern[];
  /** Keep final weights of every trial (default: only each task's best at the end). */
  keepAllWeights?: boolean;
}

export type TfjsSession = Session<tf.Tensor, TfjsKernels, GroupedLoraProvider, GroupedLoraProvider>;

interface PendingLoss {
  kind: LossReport['kind'];
  step: number;
  tensor: tf.Tensor;
  entries: { name: string; step: number; rows: number }[];
}

let variableCounter = 0;

/**
 * Trains many adapters at once over one frozen base: each step concatenates every resident
 * adapter's own micro-batch, runs one forward and one backward, and steps each adapter's
 * own optimizer. Adapters finish, exit or fail independently; queued trials fill freed slots.
 */
export class Trainer {
  readonly session: TfjsSession = new Session((t: tf.Tensor) => t.dispose(), tfjsKernels);
  readonly trials: TrialRecord[] = [];
  private readonly queue: TrialRecord[] = [];
  private readonly byName = new Map<string, TrialRecord>();
  private readonly tasks = new Map<string, TaskData>();
  private readonly cursors = new Map<string, DataCursor>();
  private readonly pending: PendingLoss[] = [];
  private readonly validCache = new Map<string, { x: tf.Tensor; y: tf.Tensor; rows: number }>();
  private layers: LinearLayer[] = [];
  private readonly opts: Required<Omit<TrainerOptions, 'targets'>> & { targets: TargetPattern[] };

  constructor(private readonly model: BaseModel, private readonly loss: PerExampleLoss, tasks: readonly TaskData[], options: TrainerOptions = {}) {
    const issues = new IssueCollector();
    const positiveInt = (name: keyof TrainerOptions, v: unknown, allowZero = false) => {
      if (v !== undefined && !(Number.isInteger(v) && ((v as number) > 0 || (allowZero && v === 0))) && v !== Infinity) issues.add(name, `must be a ${allowZero ? 'non-negative' : 'positive'} integer, got ${String(v)}`);
    };
    positiveInt('maxConcurrent', options.maxConcurrent);
    positiveInt('evalEvery', options.evalEvery, true);
    positiveInt('validRows', options.validRows);
    positiveInt('evalBatchRows', options.evalBatchRows);
    positiveInt('reportEvery', options.reportEvery);
    for (const t of tasks) {
      if (this.tasks.has(t.name)) issues.add(`tasks.${t.name}`, 'task names must be unique');
      this.tasks.set(t.name, t);
    }
    issues.throwIfAny('trainer options');
    this.opts = {
      maxConcurrent: options.maxConcurrent ?? Infinity, evalEvery: options.evalEvery ?? 0, validRows: options.validRows ?? 256,
      evalBatchRows: options.evalBatchRows ?? 4096, reportEvery: options.reportEvery ?? 4, targets: options.targets ?? [],
      keepAllWeights: options.keepAllWeights ?? false,
    };
    // The kernel registry answers last; a plugin tapping these hooks earlier wins.
    const fromRegistry = (q: { kernelName: string; backend: string }) => tfjsKernels.resolve(q.kernelName as 'groupedLora', q.backend).impl;
    this.session.hooks.groupedLora.tap({ name: 'alto:kernel-registry', stage: 1000 }, fromRegistry);
    this.session.hooks.groupedLoraGrad.tap({ name: 'alto:kernel-registry', stage: 1000 }, fromRegistry);
  }

  /** Queues one configuration of a task; returns its record, updated as it trains. */
  enqueue(task: string, id: string, config: AdapterConfig): TrialRecord {
    const data = this.tasks.get(task);
    if (!data) throw new ConfigError([{ field: 'task', reason: `unknown task "${task}"` }]);
    const trial = newTrialRecord(task, id, config, plannedSteps(config, data.train.size));
    if (this.byName.has(trial.name)) throw new ConfigError([{ field: 'id', reason: `trial ${trial.name} is already queued` }]);
    this.byName.set(trial.name, trial);
    this.trials.push(trial);
    this.queue.push(trial);
    return trial;
  }

  /** Runs every queued trial to its end (completed or exited). */
  async run(): Promise<TrialRecord[]> {
    this.discoverLayers();
    await this.session.setup();
    try {
      for (;;) {
        await this.admitFromQueue();
        if (this.session.bank.size === 0) break;
        await this.step();
      }
      await this.flush();
      if (!this.opts.keepAllWeights) this.dropNonBestWeights();
    } finally {
      for (const slot of this.session.bank.list()) this.session.retire(slot.name, 'error');
      for (const { x, y } of this.validCache.values()) tf.dispose([x, y]);
      this.validCache.clear();
      await this.session.shutdown();
    }
    return this.trials;
  }

  /** Layers an adapter of this configuration trains. */
  targetsOf(config: AdapterConfig): LinearLayer[] {
    const targets = config.targets.length > 0 ? config.targets : this.opts.targets;
    return this.layers.filter((l) => matchesTargets(l.name, targets));
  }

  private discoverLayers(): void {
    const first = this.tasks.values().next().value;
    if (!first) throw new ConfigError([{ field: 'tasks', reason: 'at least one task is needed' }]);
    const sample = first.train.gather(Int32Array.of(0));
    try {
      this.layers = this.model.linearLayers(sample.x);
    } finally {
      tf.dispose([sample.x, sample.y]);
    }
    const issues = new IssueCollector();
    if (this.layers.length === 0) issues.add('model', 'has no linear layers that LoRA could target (Dense layers, or linear() calls in a function model)');
    for (const t of this.queue) {
      if (this.targetsOf(t.config).length === 0) {
        issues.add(`${t.name}.targets`, `select no layer of the model (layers: ${this.layers.map((l) => l.name).join(', ')})`);
      }
    }
    issues.throwIfAny('trials');
  }

  private async admitFromQueue(): Promise<void> {
    while (this.queue.length > 0 && this.session.bank.size < this.opts.maxConcurrent) {
      this.admit(this.queue.shift()!);
    }
  }

  private admit(trial: TrialRecord): void {
    const { config } = trial;
    const layers = new Map<string, { A: tf.Tensor; B: tf.Tensor }>();
    for (const { name, dIn, dOut } of this.targetsOf(config)) {
      // PEFT's init: A ~ U(±1/√d_in) (kaiming-uniform, a = √5), B = 0; seeded per trial and layer.
      const bound = 1 / Math.sqrt(dIn);
      const a = new Rng(hashSeed(config.seed, 'lora_A', name)).fillUniform(new Float32Array(dIn * config.rank), -bound, bound);
      const id = ++variableCounter;
      const a0 = tf.tensor2d(a, [dIn, config.rank]);
      const b0 = tf.zeros([config.rank, dOut]);
      layers.set(name, {
        A: tf.variable(a0, true, `alto/${trial.name}/${name}/A#${id}`),
        B: tf.variable(b0, true, `alto/${trial.name}/${name}/B#${id}`),
      });
      tf.dispose([a0, b0]); // the variables hold their own reference to the data
    }
    const optimizer = createOptimizer<tf.Tensor>(config.optimizer);
    const slot: AdapterSlot<tf.Tensor> = {
      name: trial.name, config, task: trial.task, trialId: trial.id, stepsDone: 0, samplesDone: 0, layers,
      optimizerState: { slots: [], step: 0 }, admittedAtStep: this.session.step,
    };
    slot.optimizerState = optimizer.init(AdapterBank.params(slot), tfParamOps);
    this.cursors.set(trial.name, new DataCursor(this.tasks.get(trial.task)!.train.size, config.seed));
    trial.status = 'running';
    this.session.admit(slot);
  }

  private async step(): Promise<void> {
    const { session } = this;
    const step = session.step;
    const slots = session.bank.list();
    const initial = buildSegmentPlan(slots.map((s) => ({ adapter: { name: s.name, rank: s.config.rank, scale: loraScale(s.config) }, rows: s.config.batchSize })));
    const plan = session.hooks.planStep.call(initial, step);
    validateSegmentPlan(plan);
    const info = { step, plan };
    session.hooks.beforeStep.call(info);
    const planned = plan.adapters.map((a) => {
      const slot = session.bank.get(a.name);
      if (!slot) throw new Error(`planStep returned adapter "${a.name}", which is not resident`);
      return slot;
    });
    const rows = planned.map(() => 0);
    for (let s = 0; s < plan.segmentAdapter.length; s++) {
      const a = plan.segmentAdapter[s];
      if (a >= 0) rows[a] += plan.segmentOffsets[s + 1] - plan.segmentOffsets[s];
    }
    const { x, y } = this.gatherBatch(plan, planned);
    const provider = this.kernelFor(plan);
    const training = planned.filter((_, i) => rows[i] > 0);
    const vars = training.flatMap((s) => AdapterBank.params(s) as tf.Variable[]);
    let lossVec!: tf.Tensor;
    const { value, grads } = tf.variableGrads(() => {
      const scope = this.scopeFor(plan, planned, provider, true);
      const pred = withLoraScope(scope, () => this.model.forward(x));
      lossVec = tf.keep(perAdapterMeans(this.perExample(y, pred), plan));
      return tf.sum(lossVec) as tf.Scalar;
    }, vars);
    for (const slot of training) {
      const params = AdapterBank.params(slot);
      const adapterInfo = describeAdapter(slot);
      if (session.hooks.beforeOptimizerStep.call(adapterInfo, info) !== false) {
        const g = params.map((p) => grads[(p as tf.Variable).name]);
        createOptimizer<tf.Tensor>(slot.config.optimizer).update(params, g, slot.optimizerState, slot.config, tfParamOps);
      }
    }
    tf.dispose([value, x, y, ...Object.values(grads)]);
    this.pending.push({
      kind: 'train', step, tensor: lossVec,
      entries: planned.map((s, i) => ({ name: s.name, step: s.stepsDone + (rows[i] > 0 ? 1 : 0), rows: rows[i] })),
    });
    planned.forEach((s, i) => {
      if (rows[i] === 0) return;
      s.stepsDone += 1;
      s.samplesDone += rows[i];
      const t = this.byName.get(s.name)!;
      t.steps = s.stepsDone;
      t.samples = s.samplesDone;
    });
    session.hooks.afterStep.call(info);
    session.step += 1;
    await this.afterStep(info);
  }

  private async afterStep(info: { step: number; plan: SegmentPlan }): Promise<void> {
    const slots = this.session.bank.list();
    const done: AdapterSlot<tf.Tensor>[] = [];
    const evaluate: AdapterSlot<tf.Tensor>[] = [];
    for (const slot of slots) {
      const trial = this.byName.get(slot.name)!;
      const reason = this.session.hooks.shouldRetire.call(describeAdapter(slot), info);
      if (reason) {
        await this.retire(slot, reason);
        continue;
      }
      const finished = slot.stepsDone >= trial.plannedSteps;
      if (finished) done.push(slot);
      const every = this.opts.evalEvery;
      if (finished || (every > 0 && slot.stepsDone > 0 && slot.stepsDone % every === 0)) evaluate.push(slot);
    }
    this.evaluate(evaluate);
    for (const slot of done) await this.retire(slot, 'completed');
    if (this.pending.length >= this.opts.reportEvery) await this.flush();
  }

  private async retire(slot: AdapterSlot<tf.Tensor>, reason: RetireReason): Promise<void> {
    const trial = this.byName.get(slot.name)!;
    if (reason !== 'nan' && reason !== 'error') trial.weights = await captureWeights(slot);
    this.session.retire(slot.name, reason);
    this.cursors.delete(slot.name);
    trial.status = reason === 'completed' ? 'completed' : 'exited';
    trial.reason = reason === 'completed' ? null : reason;
  }

  private perExample(y: tf.Tensor, pred: tf.Tensor): tf.Tensor1D {
    const per = this.loss(y, pred);
    if (per.rank === 0) throw new Error('the loss function must return one value per example (shape [batch] or [batch, …]), not a scalar');
    if (per.shape[0] !== y.shape[0]) throw new Error(`the loss function returned ${per.shape[0]} values for ${y.shape[0]} examples`);
    return (per.rank === 1 ? per : tf.mean(per, Array.from({ length: per.rank - 1 }, (_, i) => i + 1))) as tf.Tensor1D;
  }

  private gatherBatch(plan: SegmentPlan, planned: AdapterSlot<tf.Tensor>[]): { x: tf.Tensor; y: tf.Tensor } {
    return tf.tidy(() => {
      const xs: tf.Tensor[] = [];
      const ys: tf.Tensor[] = [];
      for (let s = 0; s < plan.segmentAdapter.length; s++) {
        const len = plan.segmentOffsets[s + 1] - plan.segmentOffsets[s];
        if (len === 0) continue;
        const a = plan.segmentAdapter[s];
        if (a < 0) throw new Error('a training plan must give every segment an adapter');
        const slot = planned[a];
        const part = this.tasks.get(slot.task)!.train.gather(this.cursors.get(slot.name)!.next(len));
        xs.push(part.x);
        ys.push(part.y);
      }
      if (xs.length === 0) throw new Error('the step plan has no rows');
      return { x: xs.length === 1 ? xs[0] : tf.concat(xs, 0), y: ys.length === 1 ? ys[0] : tf.concat(ys, 0) };
    });
  }

  private kernelFor(plan: SegmentPlan): GroupedLoraProvider {
    const backend = tf.getBackend();
    const forward = this.session.hooks.groupedLora.call({ kernelName: 'groupedLora', backend, plan });
    const backward = this.session.hooks.groupedLoraGrad.call({ kernelName: 'groupedLora', backend, plan });
    if (!forward || !backward) throw new Error(`no grouped-LoRA kernel for backend ${backend}`);
    if (forward === backward) return forward;
    return { forward: forward.forward, backward: backward.backward, ensure: (b) => (forward.ensure(b), backward.ensure(b)) };
  }

  /** Per layer: the plan restricted to the adapters that target it, and their weights. */
  private scopeFor(plan: SegmentPlan, planned: AdapterSlot<tf.Tensor>[], provider: GroupedLoraProvider, training: boolean): LoraScope {
    const cache = new Map<string, LayerBinding | null>();
    return {
      layer: (name) => {
        if (cache.has(name)) return cache.get(name)!;
        const members = planned.map((s, i) => (s.layers.has(name) ? i : -1)).filter((i) => i >= 0);
        let binding: LayerBinding | null = null;
        if (members.length > 0) {
          const remap = new Int32Array(planned.length).fill(-1);
          members.forEach((m, k) => (remap[m] = k));
          const layerPlan: SegmentPlan = {
            ...plan,
            segmentAdapter: plan.segmentAdapter.map((a) => (a < 0 ? -1 : remap[a])),
            adapters: members.map((m) => plan.adapters[m]),
          };
          const slots = members.map((m) => planned[m]);
          binding = {
            plan: layerPlan, provider,
            A: slots.map((s) => s.layers.get(name)!.A as tf.Tensor2D),
            B: slots.map((s) => s.layers.get(name)!.B as tf.Tensor2D),
            dropoutMask: training ? (rows, dIn, perExample) => dropoutMask(layerPlan, slots, name, rows, dIn, perExample) : undefined,
          };
        }
        cache.set(name, binding);
        return binding;
      },
    };
  }

  private evaluate(slots: AdapterSlot<tf.Tensor>[]): void {
    const withValid = slots.filter((s) => this.tasks.get(s.task)!.valid);
    if (withValid.length === 0) return;
    let chunk: AdapterSlot<tf.Tensor>[] = [];
    let chunkRows = 0;
    const run = () => {
      if (chunk.length === 0) return;
      const members = chunk;
      const sets = members.map((s) => this.validSet(s.task));
      const plan = buildSegmentPlan(members.map((s, i) => ({ adapter: { name: s.name, rank: s.config.rank, scale: loraScale(s.config) }, rows: sets[i].rows })));
      const provider = this.kernelFor(plan);
      const tensor = tf.tidy(() => {
        const x = tf.concat(sets.map((v) => v.x), 0);
        const y = tf.concat(sets.map((v) => v.y), 0);
        const pred = withLoraScope(this.scopeFor(plan, members, provider, false), () => this.model.forward(x));
        return perAdapterMeans(this.perExample(y, pred), plan);
      });
      this.pending.push({ kind: 'valid', step: this.session.step - 1, tensor, entries: members.map((s, i) => ({ name: s.name, step: s.stepsDone, rows: sets[i].rows })) });
      chunk = [];
      chunkRows = 0;
    };
    for (const slot of withValid) {
      const rows = this.validSet(slot.task).rows;
      if (chunk.length > 0 && chunkRows + rows > this.opts.evalBatchRows) run();
      chunk.push(slot);
      chunkRows += rows;
    }
    run();
  }

  private validSet(task: string): { x: tf.Tensor; y: tf.Tensor; rows: number } {
    let v = this.validCache.get(task);
    if (!v) {
      const source = this.tasks.get(task)!.valid!;
      const rows = Math.min(source.size, this.opts.validRows);
      const { x, y } = source.gather(Int32Array.from({ length: rows }, (_, i) => i));
      v = { x, y, rows };
      this.validCache.set(task, v);
    }
    return v;
  }

  /** Reads the queued losses from the device, records them and tells the plugins. */
  async flush(): Promise<void> {
    const batch = this.pending.splice(0);
    const values = await Promise.all(batch.map((p) => p.tensor.data()));
    batch.forEach((p) => p.tensor.dispose());
    for (let b = 0; b < batch.length; b++) {
      const p = batch[b];
      const report: LossReport = { step: p.step, kind: p.kind, losses: [] };
      for (let i = 0; i < p.entries.length; i++) {
        const e = p.entries[i];
        if (e.rows === 0) continue;
        const loss = values[b][i];
        report.losses.push({ adapter: e.name, loss, rows: e.rows });
        const trial = this.byName.get(e.name)!;
        if (p.kind === 'train') trial.trainLoss.push({ step: e.step, loss });
        else {
          trial.validLoss.push({ step: e.step, loss });
          if (Number.isFinite(loss) && (trial.bestValLoss === null || loss < trial.bestValLoss)) trial.bestValLoss = loss;
          if (e.step === trial.plannedSteps) trial.finalValLoss = loss;
        }
        if (!Number.isFinite(loss)) await this.onNonFinite(trial);
      }
      await this.session.hooks.lossReported.promise(report);
    }
  }

  /** A NaN or infinite loss stops that adapter, and only that one. */
  private async onNonFinite(trial: TrialRecord): Promise<void> {
    const slot = this.session.bank.get(trial.name);
    if (slot) await this.retire(slot, 'nan');
    trial.status = 'exited';
    trial.reason = 'nan';
    delete trial.weights;
  }

  private dropNonBestWeights(): void {
    for (const task of this.tasks.keys()) {
      const best = bestOf(this.trials.filter((t) => t.task === task));
      for (const t of this.trials) if (t.task === task && t !== best) delete t.weights;
    }
  }
}


/** Mean loss of each adapter over its own rows, as a [K] vector (0 for an adapter without rows). */
export function perAdapterMeans(perExample: tf.Tensor1D, plan: SegmentPlan): tf.Tensor1D {
  return tf.tidy(() => {
    const means = plan.adapters.map((_, a) => {
      const parts: tf.Tensor[] = [];
      for (let s = 0; s < plan.segmentAdapter.length; s++) {
        const len = plan.segmentOffsets[s + 1] - plan.segmentOffsets[s];
        if (plan.segmentAdapter[s] === a && len > 0) parts.push(tf.slice(perExample, plan.segmentOffsets[s], len));
      }
      // Slices, not a weighted sum over all rows: a NaN in one adapter must not reach another's loss.
      if (parts.length === 0) return tf.scalar(0);
      return tf.mean(parts.length === 1 ? parts[0] : tf.concat(parts));
    });
    return tf.stack(means) as tf.Tensor1D;
  });
}

/** LoRA-input dropout mask, drawn per adapter from its seed, its step and the layer. */
function dropoutMask(plan: SegmentPlan, slots: AdapterSlot<tf.Tensor>[], layer: string, rows: number, dIn: number, perExample: number): tf.Tensor2D | null {
  if (!slots.some((s) => s.config.dropout > 0)) return null;
  const mask = new Float32Array(rows * dIn).fill(1);
  const seen = new Map<number, number>();
  for (let s = 0; s < plan.segmentAdapter.length; s++) {
    const a = plan.segmentAdapter[s];
    if (a < 0) continue;
    const { dropout: p, seed } = slots[a].config;
    const k = seen.get(a) ?? 0;
    seen.set(a, k + 1);
    if (p === 0) continue;
    const rng = new Rng(hashSeed(seed, 'dropout', layer, slots[a].stepsDone, k));
    const keep = 1 / (1 - p);
    for (let i = plan.segmentOffsets[s] * perExample * dIn; i < plan.segmentOffsets[s + 1] * perExample * dIn; i++) mask[i] = rng.next() < p ? 0 : keep;
  }
  return tf.tensor2d(mask, [rows, dIn]);
}
