import * as tf from '@tensorflow/tfjs-core';
import { hashSeed, Rng, type SegmentPlan } from '@alto/core';

/** A dataset that hands out examples by index; inputs and targets have one row per example. */
export interface DataSource {
  readonly size: number;
  gather(indices: Int32Array): { x: tf.Tensor; y: tf.Tensor };
}

/** A data source over in-memory tensors whose first dimension is the example. */
export function fromTensors(x: tf.Tensor, y: tf.Tensor): DataSource {
  if (x.shape[0] !== y.shape[0]) throw new RangeError(`x has ${x.shape[0]} examples, y has ${y.shape[0]}`);
  if (x.shape[0] === 0) throw new RangeError('a data source needs at least one example');
  return {
    size: x.shape[0],
    gather: (indices) =>
      tf.tidy(() => {
        const idx = tf.tensor1d(indices, 'int32');
        return { x: tf.gather(x, idx), y: tf.gather(y, idx) };
      }),
  };
}

/**
 * A trial's own pass over the data: a fresh seeded permutation every epoch, consumed in
 * order. It depends only on the trial's seed, so the data order is the same whether the
 * trial trains alone or beside others.
 */
export class DataCursor {
  private rng: Rng;
  private order: Int32Array;
  private pos = 0;
  epoch = 0;

  constructor(private readonly size: number, seed: number) {
    this.rng = new Rng(hashSeed(seed, 'data-order'));
    this.order = this.rng.permutation(size);
  }

  /** The position now, to go back to with `restore` (a step that failed takes the same rows again). */
  mark(): () => void {
    const rng = this.rng.clone(), order = this.order, pos = this.pos, epoch = this.epoch;
    return () => {
      this.rng = rng;
      this.order = order;
      this.pos = pos;
      this.epoch = epoch;
    };
  }

  next(n: number): Int32Array {
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      if (this.pos === this.size) {
        this.order = this.rng.permutation(this.size);
        this.pos = 0;
        this.epoch++;
      }
      out[i] = this.order[this.pos++];
    }
    return out;
  }
}

/**
 * The rows of one step, segment by segment: each segment's adapter's next rows from its own
 * cursor over its task's training data (`adapters[a]` for adapter a of the plan).
 */
export function gatherRows(plan: SegmentPlan, adapters: readonly { source: DataSource; cursor: DataCursor }[]): { x: tf.Tensor; y: tf.Tensor } {
  return tf.tidy(() => {
    const xs: tf.Tensor[] = [];
    const ys: tf.Tensor[] = [];
    for (let s = 0; s < plan.segmentAdapter.length; s++) {
      const len = plan.segmentOffsets[s + 1] - plan.segmentOffsets[s];
      if (len === 0) continue;
      const a = plan.segmentAdapter[s];
      if (a < 0) throw new Error('a training plan must give every segment an adapter');
      const part = adapters[a].source.gather(adapters[a].cursor.next(len));
      xs.push(part.x);
      ys.push(part.y);
    }
    if (xs.length === 0) throw new Error('the step plan has no rows');
    return { x: xs.length === 1 ? xs[0] : tf.concat(xs, 0), y: ys.length === 1 ? ys[0] : tf.concat(ys, 0) };
  });
}
