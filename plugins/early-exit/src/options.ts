import { IssueCollector } from '@alto/core';

/**
 * Options of the early-exit plugin. The thresholds default to the ALTO paper's values
 * (w = 2, p = 2, τ_gap = 0.1, τ_slope = 0.001, warm-up 5 %, keep 25 %); the EMA factor and the
 * evaluation interval, which the paper leaves open, are ours. The last four go beyond the
 * paper, each where its detectors are weak; `bench/sweep` measures their effect.
 */
export interface EarlyExitOptions {
  /** EMA factor of the training loss: ema ← α·loss + (1 − α)·ema. */
  emaAlpha: number;
  /** Evaluate every this many of an adapter's own steps. */
  evalEvery: number;
  /** Points in the slope fit (w). */
  window: number;
  /** Consecutive hits before an exit (p). */
  patience: number;
  /** Both slopes (loss per evaluation) at or above this mean diverging. */
  slopeThreshold: number;
  /** (val − train_ema) / train_ema above this is a hit for overfitting. */
  gapThreshold: number;
  /** Screening phase: this fraction of an adapter's planned steps. */
  warmupFraction: number;
  /** At the end of screening, keep the best ⌈ratio × survivors⌉ of a task. */
  keepRatio: number;
  /** Median-of-3 filter on training losses and validation points: one spike never makes a hit. */
  spikeFilter: boolean;
  /**
   * A divergence hit also needs the validation slope to exceed this many standard deviations
   * of its own noise, so that a noisy plateau is not read as a rising curve (0: off).
   */
  slopeNoiseSigmas: number;
  /**
   * An overfitting hit also needs the validation loss to have stopped improving (its slope over
   * the window ≥ 0): a gap that is there from the start, with validation still falling, is a
   * harder validation set, not overfitting.
   */
  overfitNeedsStall: boolean;
  /** Keep trials within this relative band above the cut (a floor on the noise band). */
  cutBand: number;
  /** …or within this many estimated noise standard deviations of the cut, if wider. */
  cutNoiseSigmas: number;
  /**
   * Rank differences show late: keep a cut trial when a survivor with the same settings but
   * another rank is within this relative band of it (0 turns it off).
   */
  rankCautionBand: number;
  /**
   * Judge only the other settings at the cut: configurations that differ only in rank form a
   * group scored by its best member, the top ⌈ratio × groups⌉ groups survive whole, and rank
   * is left to the later detectors. Keeps as many trials as the plain cut when each setting
   * comes in every rank.
   */
  deferRank: boolean;
}

export const PAPER_DEFAULTS: EarlyExitOptions = {
  emaAlpha: 0.1,
  evalEvery: 4,
  window: 2,
  patience: 2,
  slopeThreshold: 0.001,
  gapThreshold: 0.1,
  warmupFraction: 0.05,
  keepRatio: 0.25,
  spikeFilter: false,
  slopeNoiseSigmas: 0,
  overfitNeedsStall: false,
  cutBand: 0,
  cutNoiseSigmas: 0,
  rankCautionBand: 0,
  deferRank: false,
};

/** The paper's thresholds plus this project's robustness options, on. */
export const DEFAULTS: EarlyExitOptions = {
  ...PAPER_DEFAULTS,
  spikeFilter: true,
  slopeNoiseSigmas: 2,
  overfitNeedsStall: true,
  cutBand: 0.01,
  cutNoiseSigmas: 1,
  rankCautionBand: 0.02,
  deferRank: true,
};

const RANGES: Record<keyof EarlyExitOptions, { min: number; max: number; int?: boolean; minOpen?: boolean; bool?: boolean }> = {
  emaAlpha: { min: 0, max: 1, minOpen: true },
  evalEvery: { min: 1, max: Infinity, int: true },
  window: { min: 2, max: Infinity, int: true },
  patience: { min: 1, max: Infinity, int: true },
  slopeThreshold: { min: -Infinity, max: Infinity },
  gapThreshold: { min: 0, max: Infinity },
  warmupFraction: { min: 0, max: 1, minOpen: true },
  keepRatio: { min: 0, max: 1, minOpen: true },
  spikeFilter: { min: 0, max: 1, bool: true },
  slopeNoiseSigmas: { min: 0, max: Infinity },
  overfitNeedsStall: { min: 0, max: 1, bool: true },
  cutBand: { min: 0, max: Infinity },
  cutNoiseSigmas: { min: 0, max: Infinity },
  rankCautionBand: { min: 0, max: Infinity },
  deferRank: { min: 0, max: 1, bool: true },
};

/** Completes and validates options; every bad field is reported by name. */
export function resolveEarlyExitOptions(input: Partial<EarlyExitOptions> = {}, path = 'earlyExit'): EarlyExitOptions {
  const issues = new IssueCollector();
  if (input === null || typeof input !== 'object') {
    issues.add(path, 'must be an object of options or false');
    issues.throwIfAny('early-exit options');
  }
  for (const key of Object.keys(input)) {
    if (!(key in RANGES)) issues.add(`${path}.${key}`, `is not an early-exit option (${Object.keys(RANGES).join(', ')})`);
  }
  const out = { ...DEFAULTS, ...input };
  for (const [key, r] of Object.entries(RANGES) as [keyof EarlyExitOptions, (typeof RANGES)[keyof EarlyExitOptions]][]) {
    const v = out[key];
    if (r.bool) {
      if (typeof v !== 'boolean') issues.add(`${path}.${key}`, `must be true or false, got ${String(v)}`);
      continue;
    }
    const ok = typeof v === 'number' && !Number.isNaN(v) && (r.minOpen ? v > r.min : v >= r.min) && v <= r.max && (!r.int || Number.isInteger(v));
    if (!ok) issues.add(`${path}.${key}`, `must be ${r.int ? 'an integer' : 'a number'} in ${r.minOpen ? '(' : '['}${r.min}, ${r.max}], got ${String(v)}`);
  }
  issues.throwIfAny('early-exit options');
  return out;
}
