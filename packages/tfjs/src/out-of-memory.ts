/** Whether an error is a backend running out of memory (the CUDA backend's cudaMalloc, and others' "out of memory"). */
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

/**
 * What the steps that ran out of memory taught. Where the backend counts device bytes, a bound
 * on the bytes in use at a step's predicted peak (held bytes included): the lower of what the
 * failed step reached and what it was predicted to reach, less 5 %, so that each failure lowers
 * the bound and a pool that fails below the device's budget (fragmented, or holding memory the
 * count leaves out) is met where it failed. Elsewhere a bound on a step's rows: three quarters of
 * the failed step's.
 */
export class StepMemoryBound {
  /** Most rows a step may have (Infinity: no bound). */
  maxRows = Infinity;
  /** Most device bytes in use a step's prediction plus the held bytes may reach (Infinity: no bound). */
  maxInUseBytes = Infinity;

  /**
   * Lowers the bound after the step of `record` failed with `heldBytes` held outside the steps;
   * the rows bound only where `rowsToo` (not when moving parked adapters off the device made
   * the room) and the device's bytes are not counted. False when it learnt nothing.
   */
  learn(record: OutOfMemoryRecord, heldBytes: number, rowsToo: boolean): boolean {
    const { reachedBytes, predictedBytes } = record;
    if (reachedBytes !== null && predictedBytes !== null) {
      this.maxInUseBytes = Math.min(this.maxInUseBytes, Math.min(reachedBytes, predictedBytes + heldBytes) * 0.95);
      return true;
    }
    if (!rowsToo) return false;
    this.maxRows = Math.min(this.maxRows, Math.floor(record.rows * 0.75));
    return true;
  }

  /** The bytes a step's prediction may reach: the budget less the held bytes and the safety margin, within the bound. */
  allowedStepBytes(budgetBytes: number, heldBytes: number, safetyMargin: number): number {
    return Math.min((budgetBytes - heldBytes) * (1 - safetyMargin), this.maxInUseBytes - heldBytes);
  }

  describe(): string {
    const parts = [];
    if (Number.isFinite(this.maxInUseBytes)) parts.push(`steps predicted under ${gib(this.maxInUseBytes)} in use`);
    if (Number.isFinite(this.maxRows)) parts.push(`at most ${this.maxRows} rows a step`);
    return parts.length ? parts.join(', ') : 'no bound';
  }
}

const gib = (b: number | null) => (b === null ? '?' : `${(b / 2 ** 30).toFixed(1)} GiB`);

/** One line for a record: step, rows and adapters, the bytes expected, allowed and reached. */
export function describeOutOfMemory(r: OutOfMemoryRecord): string {
  return `step ${r.step}: ${r.rows} rows of ${r.adapters} adapters (rank sum ${r.rankSum}), predicted ${gib(r.predictedBytes)} of ${r.allowedBytes === null ? 'unbounded' : gib(r.allowedBytes)} allowed, reached ${gib(r.reachedBytes)} before (pool ${gib(r.reservedBytes)}): ${r.cause}`;
}
