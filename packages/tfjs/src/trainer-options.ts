import type * as tf from '@tensorflow/tfjs-core';
import { IssueCollector, Session, TargetPattern } from '@alto/core';
import type { DataSource } from './data.js';
import type { GroupedLoraProvider, TfjsKernels } from './ops/grouped-lora.js';
import type { PauseTo } from './paused-adapters.js';

/** Loss of each example: [batch] or [batch, …] (the trailing axes are averaged). */
export type PerExampleLoss = (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Tensor;

export interface TaskData {
  name: string;
  train: DataSource;
  valid?: DataSource;
}

export interface TrainerOptions {
  /** Most adapters resident at once; the rest wait and fill freed slots. Default: all. */
  maxConcurrent?: number;
  /**
   * Memory the resident adapters' steps may use, as predicted by the capacity model. Default:
   * the memory this process can hold on the device where the backend reports it (the CUDA
   * backend), else unbounded (steps that run out of memory are then taken again with fewer).
   */
  memoryBudgetBytes?: number;
  /** Fraction of the budget kept free for the model's error. Default 0.1. */
  safetyMargin?: number;
  /** Steps over which admission ramps up (1, 2, 4… adapters) to profile the capacity model. */
  profileSteps?: number;
  /** Evaluate each adapter every this many of its steps (0: only its final weights). */
  evalEvery?: number;
  /** Validation examples per evaluation (the first ones of the validation set). */
  validRows?: number;
  /** Most rows of one evaluation forward pass. */
  evalBatchRows?: number;
  /** Read losses from the device every this many steps, not in every step. */
  reportEvery?: number;
  /** Layers that get LoRA when a configuration names none. Default: every linear layer. */
  targets?: TargetPattern[];
  /** Keep the weights of every trial (default: only each task's best at the end). */
  keepAllWeights?: boolean;
  /** Time every kernel of this executor step (1 = the first; 0 = none): Trainer.kernelProfile. */
  profileStep?: number;
  /**
   * Where a paused adapter's state waits (e.g. for the end of an early-exit screening):
   * 'device' (default) leaves it allocated, so that pausing and resuming move nothing — out of
   * memory, parked adapters move to the host before any resident one is paused; 'host' copies
   * it out at once, freeing the device memory for others.
   */
  pauseTo?: PauseTo;
  /**
   * Fair share of the capacity among trials that have started: a paused trial free to resume
   * that does not fit beside the resident ones gets in by parking resident trials at least this
   * many of their steps ahead of it (the most advanced first). Without it (0), such a trial
   * waits for a resident one to finish and may end up training alone, in steps too small to
   * keep the device busy. Trials never started wait in the queue as before. Default 2.
   */
  fairShareLead?: number;
}

export type TfjsSession = Session<tf.Tensor, TfjsKernels, GroupedLoraProvider, GroupedLoraProvider>;

export function validateOptions(options: TrainerOptions): Required<TrainerOptions> {
  const issues = new IssueCollector();
  const int = (name: keyof TrainerOptions, allowZero = false) => {
    const v = options[name];
    if (v === undefined || v === Infinity) return;
    if (!(Number.isInteger(v) && ((v as number) > 0 || (allowZero && v === 0)))) issues.add(name, `must be a ${allowZero ? 'non-negative' : 'positive'} integer, got ${String(v)}`);
  };
  (['maxConcurrent', 'validRows', 'evalBatchRows', 'reportEvery'] as const).forEach((n) => int(n));
  (['evalEvery', 'profileSteps', 'profileStep', 'fairShareLead'] as const).forEach((n) => int(n, true));
  const margin = options.safetyMargin;
  if (margin !== undefined && !(margin >= 0 && margin < 1)) issues.add('safetyMargin', `must be in [0, 1), got ${margin}`);
  const budget = options.memoryBudgetBytes;
  if (budget !== undefined && !(budget > 0)) issues.add('memoryBudgetBytes', `must be a positive number, got ${budget}`);
  if (options.pauseTo !== undefined && options.pauseTo !== 'device' && options.pauseTo !== 'host') issues.add('pauseTo', `must be 'device' or 'host', got ${String(options.pauseTo)}`);
  issues.throwIfAny('trainer options');
  return {
    maxConcurrent: options.maxConcurrent ?? Infinity, memoryBudgetBytes: options.memoryBudgetBytes ?? Infinity,
    safetyMargin: options.safetyMargin ?? 0.1, profileSteps: options.profileSteps ?? 3, evalEvery: options.evalEvery ?? 0,
    validRows: options.validRows ?? 256, evalBatchRows: options.evalBatchRows ?? 4096, reportEvery: options.reportEvery ?? 4,
    targets: options.targets ?? [], keepAllWeights: options.keepAllWeights ?? false, profileStep: options.profileStep ?? 0,
    pauseTo: options.pauseTo ?? 'device', fairShareLead: options.fairShareLead ?? 2,
  };
}
