import type { AdapterConfig } from './adapter-config.js';
import type { AdapterWeights } from './checkpoint.js';
import type { RetireReason } from './hooks.js';

export type TrialStatus = 'queued' | 'running' | 'paused' | 'completed' | 'exited';

export interface LossPoint {
  /** The trial's own step count when the loss was measured. */
  step: number;
  loss: number;
}

/** One configuration of one task, from queued to finished, with its loss history. */
export interface TrialRecord {
  /** Adapter name: `<task>/<id>`. */
  name: string;
  id: string;
  task: string;
  config: AdapterConfig;
  status: TrialStatus;
  /** null while running and for trials that ran all their steps. */
  reason: RetireReason | null;
  plannedSteps: number;
  steps: number;
  samples: number;
  trainLoss: LossPoint[];
  validLoss: LossPoint[];
  bestValLoss: number | null;
  /** Validation loss of the final weights (null without validation data). */
  finalValLoss: number | null;
  /**
   * The adapter this trial hands back: with validation data its best-validation checkpoint
   * (so an adapter stopped for overfitting keeps its best weights), else its final weights.
   * Kept for the trials that may still be a task's best.
   */
  weights?: AdapterWeights;
  /** The trial's step at which `weights` were taken. */
  weightsStep?: number;
  /** Task metric (e.g. exact match) of `weights`, when the task defines one. */
  metricValue?: number | null;
}

export function newTrialRecord(task: string, id: string, config: AdapterConfig, plannedSteps: number): TrialRecord {
  return {
    name: `${task}/${id}`, id, task, config, status: 'queued', reason: null, plannedSteps, steps: 0, samples: 0,
    trainLoss: [], validLoss: [], bestValLoss: null, finalValLoss: null,
  };
}

/**
 * How good a finished trial is, lower is better: the validation loss of the weights it hands
 * back (its best), or without validation data the mean of its last few training losses.
 * NaN or missing values rank last.
 */
export function trialScore(t: TrialRecord, tail = 5): number {
  if (t.bestValLoss !== null) return Number.isFinite(t.bestValLoss) ? t.bestValLoss : Infinity;
  const last = t.trainLoss.slice(-tail);
  if (last.length === 0) return Infinity;
  const mean = last.reduce((s, p) => s + p.loss, 0) / last.length;
  return Number.isFinite(mean) ? mean : Infinity;
}

/** The best finished trial with kept weights, or null. */
export function bestTrial(trials: readonly TrialRecord[]): TrialRecord | null {
  let best: TrialRecord | null = null;
  const candidates = trials.filter((t) => t.weights && t.reason !== 'nan' && t.reason !== 'error');
  // Validation losses and training losses are not comparable: rank by validation when any has it.
  const validated = candidates.filter((t) => t.bestValLoss !== null);
  for (const t of validated.length > 0 ? validated : candidates) {
    if (!Number.isFinite(trialScore(t))) continue;
    if (!best || trialScore(t) < trialScore(best)) best = t;
  }
  return best;
}
