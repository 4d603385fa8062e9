import * as tf from '@tensorflow/tfjs-core';
import { AdapterSlot, buildSegmentPlan, loraScale } from '@alto/core';
import type { BaseModel } from './model.js';
import { withLoraScope } from './lora-scope.js';
import { PendingLoss, snapshotWeights } from './loss-ledger.js';
import { kernelFor, scopeFor } from './step-scope.js';
import { perAdapterMeans, toPerExample } from './step-math.js';
import type { PerExampleLoss, TaskData, TfjsSession } from './trainer-options.js';

/**
 * Validation losses, batched like training: adapters (of any task) share forward passes of at
 * most `evalBatchRows` rows, each on the first `validRows` examples of its task's validation
 * set. Each adapter's weights are copied at evaluation time, so that the best checkpoint can
 * be kept once the loss is read.
 */
export class Evaluator {
  private readonly cache = new Map<string, { x: tf.Tensor; y: tf.Tensor; rows: number }>();

  constructor(
    private readonly session: TfjsSession,
    private readonly tasks: ReadonlyMap<string, TaskData>,
    private readonly model: BaseModel,
    private readonly loss: PerExampleLoss,
    private readonly opts: { validRows: number; evalBatchRows: number },
  ) {}

  evaluate(slots: AdapterSlot<tf.Tensor>[], step: number): PendingLoss[] {
    const out: PendingLoss[] = [];
    let chunk: AdapterSlot<tf.Tensor>[] = [];
    let chunkRows = 0;
    const run = () => {
      if (chunk.length === 0) return;
      const members = chunk;
      const sets = members.map((s) => this.validSet(s.task));
      const plan = buildSegmentPlan(members.map((s, i) => ({ adapter: { name: s.name, rank: s.config.rank, scale: loraScale(s.config) }, rows: sets[i].rows })));
      const provider = kernelFor(this.session, plan);
      const tensor = tf.tidy(() => {
        const x = tf.concat(sets.map((v) => v.x), 0);
        const y = tf.concat(sets.map((v) => v.y), 0);
        const pred = withLoraScope(scopeFor(plan, members, provider, false), () => this.model.forward(x));
        return perAdapterMeans(toPerExample(this.loss(y, pred), y.shape[0]), plan);
      });
      const entries = members.map((s, i) => ({ name: s.name, step: s.stepsDone, rows: sets[i].rows, snapshot: snapshotWeights(s.layers) }));
      out.push({ kind: 'valid', step, tensor, entries });
      chunk = [];
      chunkRows = 0;
    };
    for (const slot of slots.filter((s) => this.tasks.get(s.task)!.valid)) {
      const rows = this.validSet(slot.task).rows;
      if (chunk.length > 0 && chunkRows + rows > this.opts.evalBatchRows) run();
      chunk.push(slot);
      chunkRows += rows;
    }
    run();
    return out;
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
