import { attach, type Plugin } from '@alto/core';
import type { TfjsSession } from '@alto/tfjs';

/** Executor steps of a run and the median time between consecutive steps after a warm-up. */
export interface StepTiming {
  count: number;
  /** null until more than `warmup` + 1 steps have run. */
  medianSeconds: number | null;
  /**
   * Each step as [host seconds since the first step's end, rows, adapters], followed, when the
   * timer was given host parts, by each part's host seconds since the run began, at that step's
   * end (named by `parts`): where the time between two steps went.
   */
  trace: number[][];
  /** Names of the trace's columns after the first three (absent: none). */
  parts?: string[];
}

/**
 * Times the executor's steps from the host, at each step's end. Work on a GPU is queued, so a
 * single interval says little; their median over a run, once the queue has filled, is the
 * steady-state step time (what a sweep's time is computed from when it is not run in full).
 * `hostParts` (e.g. the trainer's `hostSeconds`) is sampled at each step's end into the trace.
 */
export function stepTimer(warmup = 3, hostParts?: () => Readonly<Record<string, number>>): Plugin<TfjsSession> & { timing(): StepTiming } {
  if (!Number.isInteger(warmup) || warmup < 0) throw new RangeError(`stepTimer: warmup must be a non-negative integer, got ${warmup}`);
  const ends: number[] = [];
  const rows: number[][] = [];
  const names = hostParts ? Object.keys(hostParts()) : [];
  return {
    name: 'step-timer',
    apply(session) {
      return attach(session.hooks.afterStep, 'step-timer', ({ plan }) => {
        ends.push(performance.now());
        const parts = hostParts?.();
        rows.push([plan.totalRows, plan.adapters.length, ...names.map((n) => Math.round((parts?.[n] ?? 0) * 1000) / 1000)]);
      });
    },
    timing() {
      const gaps = ends.slice(warmup + 1).map((t, i) => (t - ends[warmup + i]) / 1000).sort((a, b) => a - b);
      const mid = gaps.length >> 1;
      const trace = ends.map((t, i) => [Math.round(t - ends[0]) / 1000, ...rows[i]]);
      return {
        count: ends.length,
        medianSeconds: gaps.length === 0 ? null : gaps.length % 2 ? gaps[mid] : (gaps[mid - 1] + gaps[mid]) / 2,
        trace,
        ...(names.length > 0 ? { parts: names } : {}),
      };
    },
  };
}
