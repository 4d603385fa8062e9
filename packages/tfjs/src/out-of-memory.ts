/** Whether an error is a backend running out of memory (the CUDA backend's pool, and others' "out of memory"). */
export function isOutOfMemory(e: unknown): boolean {
  return e instanceof Error && /out of memory/i.test(e.message);
}

/**
 * What a step that ran out of memory was, against what the capacity model expected of it: the
 * data for tuning the model (bytes are the device's count; null where the backend keeps none).
 */
export interface OutOfMemoryRecord {
  step: number;
  rows: number;
  adapters: number;
  rankSum: number;
  /** The capacity model's prediction of the step's bytes (null: no fit yet). */
  predictedBytes: number | null;
  /** What admission let a step's prediction reach: the budget less what is held outside the steps, less the safety margin (null: unbounded). */
  allowedBytes: number | null;
  /** The most bytes in use during the step before it failed. */
  reachedBytes: number | null;
  /** The device memory the backend's pool held from the device when the step failed (in use, cached and free parts of its segments). */
  reservedBytes: number | null;
  cause: string;
}

/** A training step that ran out of memory before any adapter was updated; nothing of it remains. */
export class StepOutOfMemory extends Error {
  constructor(readonly record: OutOfMemoryRecord, override readonly cause: Error) {
    super(`a step of ${record.rows} rows ran out of memory: ${cause.message}`);
    this.name = 'StepOutOfMemory';
  }
  get rows(): number {
    return this.record.rows;
  }
}

export const gib = (b: number | null) => (b === null ? '?' : `${(b / 2 ** 30).toFixed(1)} GiB`);

/** One line for a record: step, rows and adapters, the bytes expected, allowed and reached. */
export function describeOutOfMemory(r: OutOfMemoryRecord): string {
  return `step ${r.step}: ${r.rows} rows of ${r.adapters} adapters (rank sum ${r.rankSum}), predicted ${gib(r.predictedBytes)} of ${r.allowedBytes === null ? 'unbounded' : gib(r.allowedBytes)} allowed, reached ${gib(r.reachedBytes)} before (pool ${gib(r.reservedBytes)}): ${r.cause}`;
}
