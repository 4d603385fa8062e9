import * as tf from '@tensorflow/tfjs-core';
import { copyTensors } from './kernels/copy-many-cuda.js';
import type { LossReport, TrialRecord } from '@alto/core';
import type { TfjsSession } from './trainer-options.js';
import { layersToHost } from './adapter-weights.js';

export type WeightSnapshot = Map<string, { A: tf.Tensor; B: tf.Tensor }>;

/** Losses of one step or evaluation, still on the device. */
export interface PendingLoss {
  kind: LossReport['kind'];
  step: number;
  /** One loss per entry, [K]. */
  tensor: tf.Tensor;
  /** Per adapter: its own step then, its rows, and for evaluations a copy of its weights. */
  entries: { name: string; step: number; rows: number; snapshot?: WeightSnapshot }[];
}

/**
 * Losses queued on the device and read back in batches, never inside a step. Reading them
 * records each trial's history, keeps the best-validation weights, reports to plugins
 * (`lossReported`) and flags non-finite training losses.
 *
 * A trial's best-validation weights stay on the device (one copy per trial, replaced when its
 * loss improves) until `settle` reads them to the host or drops them: reading at every
 * improvement would wait on the device and copy every adapter's weights many times a run.
 */
export class LossLedger {
  private readonly pending: PendingLoss[] = [];
  private readonly best = new Map<string, WeightSnapshot>();
  private readingBytes = 0;

  push(...items: PendingLoss[]): void {
    this.pending.push(...items);
  }

  get size(): number {
    return this.pending.length;
  }

  async flush(session: TfjsSession, trials: ReadonlyMap<string, TrialRecord>, onNonFinite: (trial: TrialRecord) => Promise<void>): Promise<void> {
    const batch = this.pending.splice(0);
    const values = await Promise.all(batch.map((p) => p.tensor.data()));
    batch.forEach((p) => p.tensor.dispose());
    for (let b = 0; b < batch.length; b++) {
      const p = batch[b];
      const report: LossReport = { step: p.step, kind: p.kind, losses: [] };
      for (let i = 0; i < p.entries.length; i++) {
        const e = p.entries[i];
        const loss = values[b][i];
        const trial = trials.get(e.name)!;
        if (e.snapshot) {
          if (Number.isFinite(loss) && trial.reason !== 'nan' && (trial.bestValLoss === null || loss < trial.bestValLoss)) {
            const previous = this.best.get(e.name);
            if (previous) disposeSnapshot(previous);
            this.best.set(e.name, e.snapshot);
            trial.weightsStep = e.step;
          } else disposeSnapshot(e.snapshot);
        }
        if (e.rows === 0) continue;
        report.losses.push({ adapter: e.name, loss, rows: e.rows, adapterStep: e.step });
        if (p.kind === 'train') trial.trainLoss.push({ step: e.step, loss });
        else {
          trial.validLoss.push({ step: e.step, loss });
          if (Number.isFinite(loss) && (trial.bestValLoss === null || loss < trial.bestValLoss)) trial.bestValLoss = loss;
          if (e.step === trial.plannedSteps) trial.finalValLoss = loss;
        }
        if (!Number.isFinite(loss) && p.kind === 'train') await onNonFinite(trial);
      }
      await session.hooks.lossReported.promise(report);
    }
  }

  /** Whether a trial's best-validation weights are still held on the device. */
  holdsBest(name: string): boolean {
    return this.best.has(name);
  }

  /**
   * Ends the device copy of a trial's best weights: dropped, or (`keep`) read into
   * `trial.weights`. A kept copy is read in turn with the other trials' (readAll's `inTurn`):
   * its bytes stay on the device, and counted here, until its read ends; the returned promise
   * ends then, so the caller need not wait.
   */
  settle(trial: TrialRecord, keep: boolean): Promise<void> {
    const s = this.best.get(trial.name);
    if (!s) return Promise.resolve();
    let reading: Promise<void> = Promise.resolve();
    try {
      if (keep) {
        const bytes = snapshotBytes(s);
        this.readingBytes += bytes;
        reading = layersToHost(s, { inTurn: true })
          .then((w) => void (trial.weights = w))
          .finally(() => void (this.readingBytes -= bytes));
      }
    } finally {
      this.best.delete(trial.name);
      disposeSnapshot(s);
    }
    return reading;
  }

  /** Device bytes of the weight copies held: best checkpoints, those being read, and those of losses not yet read. */
  deviceBytes(): number {
    let bytes = this.readingBytes;
    for (const s of this.best.values()) bytes += snapshotBytes(s);
    for (const p of this.pending) for (const e of p.entries) if (e.snapshot) bytes += snapshotBytes(e.snapshot);
    return bytes;
  }

  /** Frees whatever is still queued or held (after an error). */
  dispose(): void {
    for (const p of this.pending.splice(0)) {
      p.tensor.dispose();
      p.entries.forEach((e) => e.snapshot && disposeSnapshot(e.snapshot));
    }
    for (const s of this.best.values()) disposeSnapshot(s);
    this.best.clear();
  }
}

/**
 * Copies of an adapter's weights with their own device data (one launch on the CUDA backend).
 * Not tf.clone: a clone shares the variable's data until the loss is read, and while anything
 * shares it the optimizer cannot update the variable in place (the CUDA backend's one-launch
 * AdamW then falls back to about ten kernel calls per tensor, 672 tensors per adapter on a
 * 16-layer Llama).
 */
export function snapshotWeights(layers: ReadonlyMap<string, { A: tf.Tensor; B: tf.Tensor }>): WeightSnapshot {
  const names = [...layers.keys()];
  const copies = copyTensors(names.flatMap((n) => [layers.get(n)!.A, layers.get(n)!.B]));
  return new Map(names.map((n, i) => [n, { A: copies[2 * i], B: copies[2 * i + 1] }]));
}

function snapshotBytes(s: WeightSnapshot): number {
  let n = 0;
  for (const { A, B } of s.values()) n += 4 * (A.size + B.size);
  return n;
}

function disposeSnapshot(s: WeightSnapshot): void {
  for (const { A, B } of s.values()) tf.dispose([A, B]);
}
