import type { AdapterConfig, TrialRecord } from '@alto/core';
import type { OutOfMemoryRecord } from '@alto/tfjs';
import type { Metric } from './config.js';
import type { StepTiming } from './step-timer.js';

export interface TrialSummary {
  id: string;
  config: { rank: number; alpha: number; learningRate: number; batchSize: number; dropout: number; weightDecay: number; steps: number };
  status: 'completed' | 'exited';
  reason: string | null;
  steps: number;
  samples: number;
  bestValLoss: number | null;
  metricValue: number | null;
}

export interface TaskSummary {
  name: string;
  metric: Metric;
  best: { trial: string; config: TrialSummary['config']; valLoss: number | null; metricValue: number | null } | null;
  trials: TrialSummary[];
}

export interface Summary {
  version: string;
  backend: string;
  /** The early-exit options in force, or false. */
  earlyExit: Record<string, unknown> | false;
  mode: 'alto' | 'batched' | 'sequential';
  wallSeconds: number;
  /** The executor's steps and the median seconds between them after a warm-up (see step-timer.ts). */
  executorSteps: StepTiming;
  /** Host wall seconds by part of the run (Trainer.hostSeconds); device work is asynchronous, so reading losses also waits for it. */
  hostSeconds: Record<string, number>;
  samplesTrained: number;
  /** What the sweep would train with no early exit. */
  samplesBudget: number;
  /** Steps that ran out of memory (and were taken again with fewer rows), with what the capacity model expected of each. */
  outOfMemory: OutOfMemoryRecord[];
  tasks: TaskSummary[];
}

export const configSummary = (c: AdapterConfig, steps: number): TrialSummary['config'] => ({
  rank: c.rank, alpha: c.alpha, learningRate: c.learningRate, batchSize: c.batchSize, dropout: c.dropout, weightDecay: c.weightDecay, steps,
});

export function trialSummary(t: TrialRecord): TrialSummary {
  return {
    id: t.id, config: configSummary(t.config, t.plannedSteps), status: t.status === 'completed' ? 'completed' : 'exited', reason: t.reason ?? null,
    steps: t.steps, samples: t.samples, bestValLoss: finite(t.bestValLoss), metricValue: t.metricValue ?? null,
  };
}

const finite = (v: number | null) => (v !== null && Number.isFinite(v) ? v : null);

/**
 * A task's best trial: by the metric when it is exact match (ties go to the lower validation
 * loss), else by validation loss. Trials that failed (nan, error) are never best.
 */
export function pickBest(trials: readonly TrialRecord[], metric: Metric): TrialRecord | null {
  const ok = trials.filter((t) => t.reason !== 'nan' && t.reason !== 'error' && t.bestValLoss !== null && Number.isFinite(t.bestValLoss));
  const sorted = [...ok].sort((a, b) => {
    if (metric === 'exact_match') {
      const d = (b.metricValue ?? -1) - (a.metricValue ?? -1);
      if (d !== 0) return d;
    }
    return a.bestValLoss! - b.bestValLoss!;
  });
  return sorted[0] ?? null;
}
