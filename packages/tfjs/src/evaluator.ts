import * as tf from '@tensorflow/tfjs-core';
import { AdapterSlot, buildSegmentPlan, loraScale } from '@alto/core';
import type { BaseModel } from './model.js';
import { withLoraScope } from './lora-scope.js';
import { PendingLoss, snapshotWeights } from './loss-ledger.js';
import { kernelFor, scopeFor } from './step-scope.js';
import { perAdapterMeans, toPerExample } from './step-math.js';
import { isOutOfMemory } from './out-of-memory.js';
import type { PerExampleLoss, TaskData, TfjsSession } from './trainer-options.js';

/**
 * Validation losses, batched like training: adapters (of any task) share forward passes of at
 * most `evalBatchRows` rows, each on the first `validRows` examples of its task's validation
 * set (a pass out of memory is split in two, and later passes keep to the smaller size). Each adapter's weights are copied at evaluation time, so that the best checkpoint can
 * be kept once the loss is read.
 */
export class Evaluator {
  private readonly cache = new Map<string, { x: tf.Tensor; y: tf.Tensor; rows: number }>();
  /** Most rows of one evaluation pass: evalBatchRows, halved by each pass that ran out of memory. */
  private batchRows: number;

  constructor(
    private readonly session: TfjsSession,
    private readonly tasks: ReadonlyMap<string, TaskData>,
    private readonly model: BaseModel,
    private readonly loss: PerExampleLoss,
    private readonly opts: { validRows: number; evalBatchRows: number },
  ) {
    this.batchRows = opts.evalBatchRows;
  }

  evaluate(slots: AdapterSlot<tf.Tensor>[], step: number): PendingLoss[] {
    const out: PendingLoss[] = [];
    let chunk: AdapterSlot<tf.Tensor>[] = [];
    let chunkRows = 0;
    for (const slot of slots.filter((s) => this.tasks.get(s.task)!.valid)) {
      const rows = this.validSet(slot.task).rows;
      if (chunk.length > 0 && chunkRows + rows > this.batchRows) {
        out.push(...this.pass(chunk, step));
        chunk = [];
        chunkRows = 0;
      }
      chunk.push(slot);
      chunkRows += rows;
    }
    if (chunk.length > 0) out.push(...this.pass(chunk, step));
    return out;
  }

  /** One forward pass over these adapters' validation rows; out of memory, two of half as many adapters. */
  private pass(members: AdapterSlot<tf.Tensor>[], step: number): PendingLoss[] {
    const sets = members.map((s) => this.validSet(s.task));
    const plan = buildSegmentPlan(members.map((s, i) => ({ adapter: { name: s.name, rank: s.config.rank, scale: loraScale(s.config) }, rows: sets[i].rows })));
    const provider = kernelFor(this.session, plan);
    let tensor: tf.Tensor;
    try {
      tensor = tf.tidy(() => {
        const x = tf.concat(sets.map((v) => v.x), 0);
        const y = tf.concat(sets.map((v) => v.y), 0);
        const pred = withLoraScope(scopeFor(plan, members, provider, false), () => this.model.forward(x));
        return perAdapterMeans(toPerExample(this.loss(y, pred), y.shape[0]), plan);
      });
    } catch (e) {
      if (!isOutOfMemory(e) || members.length === 1) throw e;
      this.batchRows = Math.max(1, Math.floor(plan.totalRows / 2));
      const half = Math.ceil(members.length / 2);
      return [...this.pass(members.slice(0, half), step), ...this.pass(members.slice(half), step)];
    }
    const entries = members.map((s, i) => ({ name: s.name, step: s.stepsDone, rows: sets[i].rows, snapshot: snapshotWeights(s.layers) }));
    return [{ kind: 'valid', step, tensor, entries }];
  }

  private validSet(task: string): { x: tf.Tensor; y: tf.Tensor; rows: number } {
    let v = this.cache.get(task);
    if (!v) {
      const source = this.tasks.get(task)!.valid!;
      const rows = Math.min(source.size, this.opts.validRows);
      const { x, y } = source.gather(Int32Array.from({ length: rows }, (_, i) => i));
      v = { x, y, rows };
      this.cache.set(task, v);
    }
    return v;
  }

  dispose(): void {
    for (const { x, y } of this.cache.values()) tf.dispose([x, y]);
    this.cache.clear();
  }
}
