import type { CapacityModel, StepShape } from '@alto/core';
import { cacheServesAnySize, deviceCapacityBytes, releaseCachedBytes, reservedBytes } from './device-memory.js';
import { gib, type OutOfMemoryRecord } from './out-of-memory.js';

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

/**
 * The device memory a training step may use, in one place: the budget (the option, else the
 * memory this process can hold on the device, read once with the base model there, else
 * unbounded), less what is held outside the steps (`heldBytes`: adapters parked on the device,
 * best-checkpoint copies), less the safety margin, within what steps out of memory taught.
 */
export class StepMemory {
  readonly bound = new StepMemoryBound();
  /** The most rows a step has tried. */
  private mostRows = 0;

  constructor(
    private budget: number | null,
    private readonly safetyMargin: number,
    private readonly heldBytes: () => number,
    private readonly capacity: CapacityModel,
  ) {}

  /** The capacity model's limits for an admission of up to `maxAdapters`, with `alsoHeld` bytes more held. */
  limits(maxAdapters: number, alsoHeld = 0) {
    const margin = this.safetyMargin;
    const allowed = this.bound.allowedStepBytes(this.budgetBytes(), this.heldBytes() + alsoHeld, margin);
    return { maxAdapters, budgetBytes: allowed / (1 - margin), safetyMargin: margin, maxRows: this.bound.maxRows };
  }

  /** The bytes a step's prediction may reach now (Infinity: unbounded). */
  allowedStepBytes(): number {
    return this.bound.allowedStepBytes(this.budgetBytes(), this.heldBytes(), this.safetyMargin);
  }

  /** Whether a step of this shape is within the bound (true where the capacity model has no fit yet). */
  fits(shape: StepShape): boolean {
    const bytes = this.capacity.predictBytes(shape);
    return shape.rows <= this.bound.maxRows && (bytes === null || bytes <= this.allowedStepBytes());
  }

  /**
   * Before a step of `rows`: a step larger than any before has the backend give its cached
   * memory back first, so that its tensors get segments of their own sizes rather than the
   * holes smaller steps' tensors left — once the backend's allocator holds over half of the
   * device (or of the budget). Below that the holes cost nothing and a release does: it waits
   * for the device and frees each segment (0.2 s after the first steps of a sweep on the H200).
   * Never where freed memory serves any size (the CUDA backend's paged memory): there the
   * allocator gives free chunks back by itself when the device runs short.
   */
  beforeStep(rows: number): void {
    if (rows <= this.mostRows) return;
    this.mostRows = rows;
    if (cacheServesAnySize()) return;
    const reserved = reservedBytes();
    if (reserved !== null && reserved <= this.budgetBytes() / 2) return;
    releaseCachedBytes();
  }

  /** Lowers the bound after a step out of memory (`rowsToo`: see StepMemoryBound.learn); `held` as when it failed. */
  learn(record: OutOfMemoryRecord, held: number, rowsToo: boolean): void {
    this.bound.learn(record, held, rowsToo);
  }

  private budgetBytes(): number {
    this.budget ??= deviceCapacityBytes() ?? Infinity;
    return this.budget;
  }
}
