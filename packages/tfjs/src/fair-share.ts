import type { AdapterConfig, AdapterInfo } from '@alto/core';

/** What a set of resident adapters adds up to in a step, in the capacity model's terms. */
export interface StepShape {
  rows: number;
  rankSum: number;
  adapters: number;
}

export function stepShape(slots: readonly { config: Pick<AdapterConfig, 'batchSize' | 'rank'> }[]): StepShape {
  return { rows: slots.reduce((n, s) => n + s.config.batchSize, 0), rankSum: slots.reduce((n, s) => n + s.config.rank, 0), adapters: slots.length };
}

/** An adapter as a candidate for admission (admitWithinBudget takes its batch size and rank). */
export function asCandidate(info: AdapterInfo): AdapterInfo & { batchSize: number; rank: number } {
  return { ...info, batchSize: info.config.batchSize, rank: info.config.rank };
}

/**
 * Fair share among started trials: the resident adapters to park so that a paused trial
 * `nextSteps` steps into its training gets in — those at least `lead` steps ahead of it, the
 * most advanced first, as few as `fits` (the adapters that would stay, those parked) says make
 * room. Null when parking every one of them would not.
 */
export function slotsToPark<S extends { stepsDone: number }>(
  resident: readonly S[],
  nextSteps: number,
  lead: number,
  fits: (staying: S[], parked: S[]) => boolean,
): S[] | null {
  const ahead = resident.filter((s) => s.stepsDone >= nextSteps + lead).sort((a, b) => b.stepsDone - a.stepsDone);
  const park: S[] = [];
  for (const slot of ahead) {
    park.push(slot);
    if (fits(resident.filter((s) => !park.includes(s)), park)) return park;
  }
  return null;
}
