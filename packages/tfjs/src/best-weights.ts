import { bestTrial, type TrialRecord } from '@alto/core';
import type { LossLedger } from './loss-ledger.js';

/** The trials grouped by task, in first-seen order. */
function byTask(trials: readonly TrialRecord[]): TrialRecord[][] {
  const groups = new Map<string, TrialRecord[]>();
  for (const t of trials) groups.set(t.task, [...(groups.get(t.task) ?? []), t]);
  return [...groups.values()];
}

/**
 * Best-validation weights held on the device (the ledger's copies) are read to the host only
 * where they are kept: those of a finished trial (all of them at the end of the run) when all
 * weights are kept, or when it leads its task; a finished trial that does not lead never will
 * (its best is final, the others' can only improve), so its copy is dropped. Reads are not
 * waited for as they start: their device copies are freed at once, the values reach the host
 * while steps run; the first failure is kept for the end of the run.
 */
export class BestWeights {
  private readonly reads: Promise<void>[] = [];
  private failure: { error: unknown } | null = null;

  constructor(private readonly ledger: LossLedger, private readonly keepAll: boolean) {}

  /** Starts the reads of what `trials` settle now (`final`: every trial, finished or not). */
  settle(trials: readonly TrialRecord[], final: boolean): void {
    for (const mine of byTask(trials)) {
      let leader: TrialRecord | null = null;
      for (const t of mine) {
        if (t.reason === 'nan' || t.reason === 'error' || t.bestValLoss === null || !Number.isFinite(t.bestValLoss)) continue;
        if (!leader || t.bestValLoss < leader.bestValLoss!) leader = t;
      }
      for (const t of mine) {
        if (!this.ledger.holdsBest(t.name)) continue;
        const finished = t.status === 'completed' || t.status === 'exited';
        if (!final && !finished) continue;
        const keep = this.keepAll || t === leader;
        this.reads.push(this.ledger.settle(t, keep).catch((error: unknown) => void (this.failure ??= { error })));
      }
    }
  }

  /** Waits for the reads started; with `rethrow`, throws the first that failed. */
  async drain(rethrow: boolean): Promise<void> {
    await Promise.all(this.reads.splice(0));
    if (rethrow && this.failure) throw this.failure.error;
  }
}

/** Each task's weights are kept only on its best trial. */
export function dropNonBestWeights(trials: readonly TrialRecord[]): void {
  for (const mine of byTask(trials)) {
    const best = bestTrial(mine);
    for (const t of mine) if (t !== best) delete t.weights;
  }
}
