import type { AdapterConfig } from './adapter-config.js';
import type { AdapterInfo } from './hooks.js';
import type { OptimizerState } from './optimizer.js';

/** One LoRA-targeted layer of one adapter: A is d_in×r, B is r×d_out. */
export interface LoraPair<T> {
  A: T;
  B: T;
}

/** Everything one resident adapter owns, keyed by its name. */
export interface AdapterSlot<T> extends AdapterInfo {
  layers: Map<string, LoraPair<T>>;
  optimizerState: OptimizerState<T>;
  admittedAtStep: number;
}

/**
 * The adapters resident on one base model. Adapters join and leave at any step; leaving
 * frees their weights and optimizer state at once through `release`.
 */
export class AdapterBank<T> {
  private readonly slots = new Map<string, AdapterSlot<T>>();

  constructor(private readonly release: (tensor: T) => void) {}

  admit(slot: AdapterSlot<T>): void {
    if (this.slots.has(slot.name)) throw new Error(`adapter "${slot.name}" is already resident`);
    this.slots.set(slot.name, slot);
  }

  /** Removes the adapter and frees its tensors; returns what it was (weights released). */
  retire(name: string): AdapterSlot<T> {
    const slot = this.detach(name);
    this.free(slot);
    return slot;
  }

  /**
   * Removes the adapter and hands it over with its tensors still allocated: the caller owns
   * them now (an adapter parked where it is, to be admitted again or freed with `free`).
   */
  detach(name: string): AdapterSlot<T> {
    const slot = this.slots.get(name);
    if (!slot) throw new Error(`adapter "${name}" is not resident`);
    this.slots.delete(name);
    return slot;
  }

  /** Frees the tensors of an adapter that is not resident (one detached earlier). */
  free(slot: AdapterSlot<T>): void {
    if (this.slots.get(slot.name) === slot) throw new Error(`adapter "${slot.name}" is resident: retire it instead`);
    for (const { A, B } of slot.layers.values()) {
      this.release(A);
      this.release(B);
    }
    for (const s of slot.optimizerState.slots.flat()) this.release(s);
  }

  get(name: string): AdapterSlot<T> | undefined {
    return this.slots.get(name);
  }

  has(name: string): boolean {
    return this.slots.has(name);
  }

  /** Resident adapters in admission order. */
  list(): AdapterSlot<T>[] {
    return [...this.slots.values()];
  }

  get size(): number {
    return this.slots.size;
  }

  /** Trainable tensors of an adapter in a fixed order: A, B of each layer in layer order. */
  static params<T>(slot: AdapterSlot<T>): T[] {
    return [...slot.layers.values()].flatMap(({ A, B }) => [A, B]);
  }
}

export function describeAdapter(slot: AdapterInfo): AdapterInfo {
  const { name, config, task, trialId, stepsDone, samplesDone } = slot;
  return { name, config, task, trialId, stepsDone, samplesDone };
}

/** Planned optimizer steps of a configuration on a dataset of `trainSize` examples. */
export function plannedSteps(config: Pick<AdapterConfig, 'steps' | 'epochs' | 'batchSize'>, trainSize: number): number {
  if (config.steps !== undefined) return config.steps;
  return (config.epochs ?? 1) * Math.max(1, Math.ceil(trainSize / config.batchSize));
}
