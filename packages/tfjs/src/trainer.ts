import './register-gradients.js';
import * as tf from '@tensorflow/tfjs-core';
import { leanVariableGrads } from './lean-grads.js';
import { isOutOfMemory, StepOutOfMemory, type OutOfMemoryRecord } from './out-of-memory.js';
import { StepMemory, type StepMemoryBound } from './step-memory.js';
import { profileKernels, type KernelProfile } from './kernel-profile.js';
import {
  AdapterBank, AdapterConfig, AdapterInfo, AdapterSlot, admitWithinBudget, buildSegmentPlan, CapacityModel,
  ConfigError, createOptimizer, describeAdapter, greedyAdmissionOrder, IssueCollector, loraScale,
  matchesTargets, newTrialRecord, plannedSteps, RetireReason, Session, StepInfo, TrialRecord,
  validateSegmentPlan,
} from '@alto/core';
import { captureWeights } from './adapter-weights.js';
import { DataCursor, gatherRows } from './data.js';
import { liveBytes, peakBytes as measuredPeakBytes, reservedBytes, resetPeakBytes } from './device-memory.js';
import { newAdapterSlot } from './adapter-slot.js';
import { Evaluator } from './evaluator.js';
import { asCandidate, slotsToPark, stepShape } from './fair-share.js';
import { PausedAdapters, slotBytes, type PauseTo } from './paused-adapters.js';
import { LossLedger } from './loss-ledger.js';
import { BestWeights, dropNonBestWeights } from './best-weights.js';
import type { BaseModel, LinearLayer } from './model.js';
import { withLoraScope } from './lora-scope.js';
import { tfjsKernels } from './ops/grouped-lora.js';
import { tfParamOps } from './param-ops.js';
import { kernelFor, scopeFor } from './step-scope.js';
import { perAdapterMeans, toPerExample } from './step-math.js';
import { PerExampleLoss, TaskData, TfjsSession, TrainerOptions, validateOptions } from './trainer-options.js';

export type { PerExampleLoss, TaskData, TfjsSession, TrainerOptions } from './trainer-options.js';

/**
 * Trains many adapters at once over one frozen base: each step concatenates every resident
 * adapter's own micro-batch, runs one forward and one backward, and steps each adapter's
 * own optimizer. Adapters finish, pause, exit or fail independently; queued and paused trials
 * fill freed capacity, admitted greedily within what the capacity model predicts fits.
 */
export class Trainer {
  readonly session: TfjsSession = new Session((t: tf.Tensor) => t.dispose(), tfjsKernels);
  readonly capacity = new CapacityModel();
  private readonly queue: TrialRecord[] = [];
  private readonly paused = new PausedAdapters(this.session.bank);
  private readonly byName = new Map<string, TrialRecord>();
  private readonly tasks = new Map<string, TaskData>();
  private readonly cursors = new Map<string, DataCursor>();
  private readonly ledger = new LossLedger();
  private readonly evaluator: Evaluator;
  private layers: LinearLayer[] = [];
  private readonly opts: Required<TrainerOptions>;
  private readonly memory: StepMemory;
  private readonly bestWeights: BestWeights;
  /** Per-kernel times of the step named by the profileStep option, once it has run. */
  kernelProfile: KernelProfile | null = null;
  /** Steps that ran out of memory and were retried with fewer rows, with what was expected of each. */
  readonly outOfMemory: OutOfMemoryRecord[] = [];
  get outOfMemorySteps(): number {
    return this.outOfMemory.length;
  }
  /** What the steps out of memory taught: steps are admitted within it. */
  get memoryBound(): StepMemoryBound {
    return this.memory.bound;
  }
  /**
   * Host wall seconds spent in each part of the run: admitting adapters (their initial
   * weights), queueing steps (forward, backward and updates; a step that ran out of memory
   * included), queueing evaluations, pausing adapters (their state to the host), reading
   * losses (which also waits for the device to finish the work queued before) and reading the
   * best-validation weights of finished trials to the host (settle).
   */
  readonly hostSeconds = { admit: 0, step: 0, evaluate: 0, pause: 0, readLosses: 0, settle: 0 };

  constructor(private readonly model: BaseModel, private readonly loss: PerExampleLoss, tasks: readonly TaskData[], options: TrainerOptions = {}) {
    this.opts = validateOptions(options);
    const budget = options.memoryBudgetBytes === undefined ? null : this.opts.memoryBudgetBytes;
    this.memory = new StepMemory(budget, this.opts.safetyMargin, () => this.heldBytes(), this.capacity);
    this.evaluator = new Evaluator(this.session, this.tasks, model, loss, this.opts);
    this.bestWeights = new BestWeights(this.ledger, this.opts.keepAllWeights);
    const issues = new IssueCollector();
    for (const t of tasks) {
      if (this.tasks.has(t.name)) issues.add(`tasks.${t.name}`, 'task names must be unique');
      this.tasks.set(t.name, t);
    }
    issues.throwIfAny('trainer options');
    const { hooks } = this.session;
    // Defaults answer last (or, for the waterfall, first); plugins tapping normally override.
    const fromRegistry = (q: { kernelName: string; backend: string }) => tfjsKernels.resolve(q.kernelName as 'groupedLora', q.backend).impl;
    hooks.groupedLora.tap({ name: 'alto:kernel-registry', stage: 1000 }, fromRegistry);
    hooks.groupedLoraGrad.tap({ name: 'alto:kernel-registry', stage: 1000 }, fromRegistry);
    hooks.shouldEvaluate.tap({ name: 'alto:eval-every', stage: 1000 }, (a) => this.opts.evalEvery > 0 && a.stepsDone > 0 && a.stepsDone % this.opts.evalEvery === 0);
    hooks.admissionOrder.tap({ name: 'alto:greedy', stage: -1000 }, (candidates, { freedBatchSize }) => {
      const paused = candidates.filter((c) => this.paused.has(c.name));
      const queued = candidates.filter((c) => !this.paused.has(c.name));
      const key = (c: AdapterInfo) => ({ ...c, batchSize: c.config.batchSize, rank: c.config.rank });
      return [...greedyAdmissionOrder(paused.map(key), freedBatchSize), ...greedyAdmissionOrder(queued.map(key), freedBatchSize)];
    });
  }

  get trials(): TrialRecord[] {
    return this.session.trials;
  }

  /** Queues one configuration of a task; returns its record, updated as it trains. */
  enqueue(task: string, id: string, config: AdapterConfig): TrialRecord {
    const data = this.tasks.get(task);
    if (!data) throw new ConfigError([{ field: 'task', reason: `unknown task "${task}"` }]);
    const trial = newTrialRecord(task, id, config, plannedSteps(config, data.train.size));
    if (this.byName.has(trial.name)) throw new ConfigError([{ field: 'id', reason: `trial ${trial.name} is already queued` }]);
    this.byName.set(trial.name, trial);
    this.session.trials.push(trial);
    this.queue.push(trial);
    return trial;
  }

  /** Runs every queued trial to its end (completed or exited). */
  async run(): Promise<TrialRecord[]> {
    this.discoverLayers();
    await this.session.setup();
    try {
      let freed: number | null = null;
      for (;;) {
        // Paused trials may have been told to exit by the reports just read: settle that first,
        // and free the best-weight copies of trials that ended before anything is admitted.
        await this.retireFromPaused({ step: this.session.step, plan: buildSegmentPlan([]) });
        this.timed('settle', () => this.bestWeights.settle(this.trials, false));
        this.timed('admit', () => this.admit(freed));
        await this.shareCapacity();
        if (this.session.bank.size === 0) {
          if (this.paused.size === 0 && this.queue.length === 0) break;
          // Everything left is paused: settle pending reports (they may decide the cut), then
          // resume whatever is still asked to wait rather than stall.
          await this.flush();
          await this.retireFromPaused({ step: this.session.step, plan: buildSegmentPlan([]) });
          this.timed('admit', () => this.admit(null, true));
          if (this.session.bank.size === 0 && this.paused.size === 0 && this.queue.length === 0) break;
          if (this.session.bank.size === 0) throw new Error('no queued or paused adapter fits the capacity budget');
        }
        try {
          if (this.session.step + 1 === this.opts.profileStep) {
            const { result, profile } = await profileKernels(this.session.step + 1, () => this.step());
            freed = result;
            this.kernelProfile = profile;
          } else freed = await this.step();
        } catch (e) {
          if (!(e instanceof StepOutOfMemory)) throw e;
          freed = await this.shrinkAfterOutOfMemory(e);
        }
      }
      await this.flush();
      this.timed('settle', () => this.bestWeights.settle(this.trials, true));
      await this.timed('settle', () => this.bestWeights.drain(true));
      if (!this.opts.keepAllWeights) dropNonBestWeights(this.trials);
    } finally {
      await this.bestWeights.drain(false);
      for (const slot of this.session.bank.list()) this.session.retire(slot.name, 'error');
      this.paused.dispose();
      this.ledger.dispose();
      this.evaluator.dispose();
      await this.session.shutdown();
    }
    return this.trials;
  }

  /** Layers an adapter of this configuration trains. */
  targetsOf(config: AdapterConfig): LinearLayer[] {
    const targets = config.targets.length > 0 ? config.targets : this.opts.targets;
    return this.layers.filter((l) => matchesTargets(l.name, targets));
  }

  /** The linear layers of the model, as found by a forward pass of one example. */
  get linearLayers(): readonly LinearLayer[] {
    return this.layers;
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

  /** Admits queued and resumable paused trials, greedily, within the capacity model's budget. */
  private admit(freedBatchSize: number | null, force = false): void {
    const { hooks } = this.session;
    const now = { step: this.session.step, plan: buildSegmentPlan([]) };
    const resumable = this.paused.infos().filter((p) => force || hooks.shouldPause.call(p, now) !== true);
    const candidates = [...resumable, ...this.queue.map((t) => this.infoOf(t))];
    if (candidates.length === 0) return;
    const ordered = hooks.admissionOrder.call(candidates, { step: this.session.step, freedBatchSize });
    const resident = this.session.bank.list();
    const profiling = this.capacity.observed < this.opts.profileSteps;
    const maxAdapters = profiling ? Math.min(this.opts.maxConcurrent, Math.max(resident.length, 2 ** this.capacity.observed)) : this.opts.maxConcurrent;
    const chosen = admitWithinBudget(ordered.map(asCandidate), stepShape(resident), this.memory.limits(maxAdapters), this.capacity);
    if (chosen.length === 0 && resident.length === 0 && ordered.length > 0) chosen.push(asCandidate(ordered[0]));
    for (const c of chosen) {
      if (this.paused.has(c.name)) {
        this.byName.get(c.name)!.status = 'running';
        this.session.admit(this.paused.take(c.name));
      } else {
        const i = this.queue.findIndex((t) => t.name === c.name);
        if (i >= 0) this.start(this.queue.splice(i, 1)[0]);
      }
    }
  }

  /**
   * Fair share among started trials (option `fairShareLead`): the paused trial furthest behind
   * that is free to resume but was not admitted gets in by parking resident trials at least
   * `fairShareLead` steps ahead of it, the most advanced first, as few as make room. Parked
   * trials are admitted the same way once the others are that far ahead of them, so trials
   * that do not all fit take turns instead of one training alone at the end.
   */
  private async shareCapacity(): Promise<void> {
    const lead = this.opts.fairShareLead;
    if (lead === 0 || this.capacity.observed < this.opts.profileSteps || this.session.bank.size === 0) return;
    const { hooks } = this.session;
    const now = { step: this.session.step, plan: buildSegmentPlan([]) };
    const waiting = this.paused.infos().filter((p) => hooks.shouldPause.call(p, now) !== true);
    if (waiting.length === 0) return;
    const next = waiting.reduce((a, b) => (b.stepsDone < a.stepsDone ? b : a));
    const park = slotsToPark(this.session.bank.list(), next.stepsDone, lead, (staying, parked) => {
      // Parked on the device, their state is held outside the steps: the budget shrinks by it.
      const parkedBytes = this.opts.pauseTo === 'device' ? parked.reduce((n, s) => n + slotBytes(s), 0) : 0;
      return admitWithinBudget([asCandidate(next)], stepShape(staying), this.memory.limits(this.opts.maxConcurrent, parkedBytes), this.capacity).length > 0;
    });
    if (!park) return;
    for (const s of park) await this.pause(s);
    this.byName.get(next.name)!.status = 'running';
    this.session.admit(this.paused.take(next.name));
  }

  /**
   * Device bytes outside the resident adapters' steps: adapters parked on the device and the
   * weight copies of best checkpoints. Subtracted from the budget, and from a step's measured
   * peak before the capacity model sees it (their number changes a lot at a cut).
   */
  private heldBytes(): number {
    return this.paused.deviceBytes() + this.ledger.deviceBytes();
  }

  private infoOf(t: TrialRecord): AdapterInfo {
    return { name: t.name, config: t.config, task: t.task, trialId: t.id, stepsDone: t.steps, samplesDone: t.samples };
  }

  private start(trial: TrialRecord): void {
    const slot = newAdapterSlot(trial, this.targetsOf(trial.config), this.session.step);
    this.cursors.set(trial.name, new DataCursor(this.tasks.get(trial.task)!.train.size, trial.config.seed));
    trial.status = 'running';
    this.session.admit(slot);
  }

  /** One batched step; returns the batch size of an adapter that left, for backfill. */
  private async step(): Promise<number | null> {
    const { session } = this;
    const started = performance.now();
    const step = session.step;
    // Equal batch sizes side by side: the batched kernel makes one matmul per run of them.
    const slots = session.bank.list().sort((a, b) => b.config.batchSize - a.config.batchSize);
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
    const rewind = planned.map((s) => this.cursors.get(s.name)!.mark());
    const provider = kernelFor(this.session, plan);
    const training = planned.filter((_, i) => rows[i] > 0);
    const vars = training.flatMap((s) => AdapterBank.params(s) as tf.Variable[]);
    let x: tf.Tensor | undefined, y: tf.Tensor | undefined, lossVec: tf.Tensor | undefined;
    this.memory.beforeStep(plan.totalRows);
    resetPeakBytes();
    let peakBytes = 0;
    let value: tf.Scalar, grads: tf.NamedTensorMap;
    try {
      ({ x, y } = gatherRows(plan, planned.map((p) => ({ source: this.tasks.get(p.task)!.train, cursor: this.cursors.get(p.name)! }))));
      const [xs, ys] = [x, y];
      ({ value, grads } = leanVariableGrads(() => {
        const pred = withLoraScope(scopeFor(plan, planned, provider, true), () => this.model.forward(xs));
        lossVec = tf.keep(perAdapterMeans(toPerExample(this.loss(ys, pred), ys.shape[0]), plan));
        peakBytes = liveBytes();
        return tf.sum(lossVec) as tf.Scalar;
      }, vars));
    } catch (e) {
      // Nothing is updated yet: free what the step made; out of memory, take the same rows again later.
      tf.dispose([x, y, lossVec].filter((t): t is tf.Tensor => t !== undefined));
      this.hostSeconds.step += (performance.now() - started) / 1000;
      if (!isOutOfMemory(e)) throw e;
      rewind.forEach((back) => back());
      const shape = { rows: plan.totalRows, rankSum: planned.reduce((n, s) => n + s.config.rank, 0), adapters: planned.length };
      const allowed = this.memory.allowedStepBytes();
      const record = { step, ...shape, predictedBytes: this.capacity.predictBytes(shape), allowedBytes: Number.isFinite(allowed) ? allowed : null,
        reachedBytes: measuredPeakBytes(), reservedBytes: reservedBytes(), cause: (e as Error).message };
      throw new StepOutOfMemory(record, e as Error);
    }
    peakBytes = Math.max(peakBytes, liveBytes(), measuredPeakBytes() ?? 0);
    for (const slot of training) {
      const params = AdapterBank.params(slot);
      if (session.hooks.beforeOptimizerStep.call(describeAdapter(slot), info) !== false) {
        const g = params.map((p) => grads[(p as tf.Variable).name]);
        createOptimizer<tf.Tensor>(slot.config.optimizer).update(params, g, slot.optimizerState, slot.config, tfParamOps);
      }
    }
    tf.dispose([value, x!, y!, ...Object.values(grads)]);
    this.ledger.push({
      kind: 'train', step, tensor: lossVec!,
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
    const ms = performance.now() - started;
    this.hostSeconds.step += ms / 1000;
    this.capacity.observe({ rows: plan.totalRows, rankSum: planned.reduce((n, s) => n + s.config.rank, 0), adapters: planned.length, bytes: peakBytes - this.heldBytes(), ms });
    return this.afterStep(info);
  }

  private async afterStep(info: StepInfo): Promise<number | null> {
    const { hooks } = this.session;
    const done: AdapterSlot<tf.Tensor>[] = [];
    const evaluate: AdapterSlot<tf.Tensor>[] = [];
    const pause: AdapterSlot<tf.Tensor>[] = [];
    let freed: number | null = null;
    for (const slot of this.session.bank.list()) {
      const trial = this.byName.get(slot.name)!;
      const adapter = describeAdapter(slot);
      const reason = hooks.shouldRetire.call(adapter, info);
      if (reason) {
        await this.retire(slot, reason);
        freed = slot.config.batchSize;
        continue;
      }
      const finished = slot.stepsDone >= trial.plannedSteps;
      if (finished) done.push(slot);
      if (finished || hooks.shouldEvaluate.call(adapter, info) === true) evaluate.push(slot);
      if (!finished && hooks.shouldPause.call(adapter, info) === true) pause.push(slot);
    }
    this.ledger.push(...this.timed('evaluate', () => this.evaluator.evaluate(evaluate, info.step)));
    for (const slot of done) {
      await this.retire(slot, 'completed');
      freed = slot.config.batchSize;
    }
    for (const slot of pause) {
      await this.pause(slot);
      freed = slot.config.batchSize;
    }
    await this.retireFromPaused(info);
    if (this.ledger.size >= this.opts.reportEvery) await this.flush();
    return freed;
  }

  /**
   * Takes a resident adapter out of the running set; it waits, parked on the device or copied
   * to the host (`to`), to be admitted again. One that has not trained yet goes back to the
   * front of the queue instead: it starts again from its seed, exactly as it would have.
   */
  private async pause(slot: AdapterSlot<tf.Tensor>, to = this.opts.pauseTo): Promise<void> {
    const started = performance.now();
    try {
      await this.moveOut(slot, to);
    } finally {
      this.hostSeconds.pause += (performance.now() - started) / 1000;
    }
  }

  private async moveOut(slot: AdapterSlot<tf.Tensor>, to: PauseTo): Promise<void> {
    const trial = this.byName.get(slot.name)!;
    if (slot.stepsDone === 0) {
      this.session.retire(slot.name, 'paused');
      trial.status = 'queued';
      this.queue.unshift(trial);
      return;
    }
    await this.paused.add(this.session.park(slot.name), to);
    trial.status = 'paused';
  }

  /** Paused trials can be told to exit too (e.g. cut at the end of screening). */
  private async retireFromPaused(info: StepInfo): Promise<void> {
    for (const adapter of this.paused.infos()) {
      const reason = this.session.hooks.shouldRetire.call(adapter, info);
      if (!reason) continue;
      const trial = this.byName.get(adapter.name)!;
      const weights = await this.paused.drop(adapter.name, trial.bestValLoss === null && reason !== 'nan');
      if (weights) trial.weights = weights;
      this.finish(trial, reason);
      this.session.hooks.adapterRetired.call(adapter, reason);
    }
  }

  private async retire(slot: AdapterSlot<tf.Tensor>, reason: RetireReason): Promise<void> {
    const trial = this.byName.get(slot.name)!;
    // With validation data the handed-back weights are the best checkpoint (taken when its
    // loss is read); without, they are the final weights.
    const evaluated = this.tasks.get(slot.task)!.valid !== undefined;
    if (!evaluated && reason !== 'nan' && reason !== 'error') {
      trial.weights = await captureWeights(slot);
      trial.weightsStep = slot.stepsDone;
    }
    this.session.retire(slot.name, reason);
    this.finish(trial, reason);
  }

  private finish(trial: TrialRecord, reason: RetireReason): void {
    this.cursors.delete(trial.name);
    trial.status = reason === 'completed' ? 'completed' : 'exited';
    trial.reason = reason === 'completed' ? null : reason;
  }

  /**
   * After a step ran out of memory the bound on steps is lowered (StepMemoryBound) and adapters
   * parked on the device move to the host; if the resident adapters still exceed the bound,
   * those admitted last are paused (their state to the host, resumed when room frees) until the
   * rest fit. The step is then tried again. An adapter that alone does not fit exits ('error').
   */
  private async shrinkAfterOutOfMemory(e: StepOutOfMemory): Promise<number | null> {
    this.outOfMemory.push(e.record);
    const held = this.heldBytes();
    const evicted = (await this.paused.evictToHost()) > 0;
    this.memory.learn(e.record, held, !evicted);
    const fits = (slots: AdapterSlot<tf.Tensor>[]) => this.memory.fits(stepShape(slots));
    const resident = this.session.bank.list().sort((a, b) => b.admittedAtStep - a.admittedAtStep);
    if (evicted && (fits(resident) || resident.length === 1)) return null;
    if (resident.length === 1) {
      await this.retire(resident[0], 'error');
      return resident[0].config.batchSize;
    }
    let staying = resident;
    let freed: number | null = null;
    for (const slot of resident.slice(0, -1)) {
      if (fits(staying)) break;
      await this.pause(slot, 'host');
      staying = staying.filter((s) => s !== slot);
      freed = slot.config.batchSize;
    }
    return freed;
  }

  /** Reads the queued losses from the device, records them and tells the plugins. */
  async flush(): Promise<void> {
    const started = performance.now();
    try {
      await this.ledger.flush(this.session, this.byName, (t) => this.onNonFinite(t));
    } finally {
      this.hostSeconds.readLosses += (performance.now() - started) / 1000;
    }
    this.timed('settle', () => this.bestWeights.settle(this.trials, false));
  }

  /** Adds f's host time to a part; for a promise, the time until it settles. */
  private timed<T>(part: 'admit' | 'evaluate' | 'settle', f: () => T): T {
    const started = performance.now();
    const add = () => void (this.hostSeconds[part] += (performance.now() - started) / 1000);
    let result: T;
    try {
      result = f();
    } catch (e) {
      add();
      throw e;
    }
    if (result instanceof Promise) return result.finally(add) as T;
    add();
    return result;
  }

  /** A NaN or infinite training loss stops that adapter, and only that one. */
  private async onNonFinite(trial: TrialRecord): Promise<void> {
    const slot = this.session.bank.get(trial.name);
    if (slot) await this.retire(slot, 'nan');
    if (this.paused.has(trial.name)) {
      const adapter = this.paused.infos().find((p) => p.name === trial.name)!;
      await this.paused.drop(trial.name, false);
      this.session.hooks.adapterRetired.call(adapter, 'nan');
    }
    this.finish(trial, 'nan');
  }
}
