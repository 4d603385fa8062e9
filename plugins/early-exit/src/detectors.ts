import type { AdapterConfig, RetireReason } from '@alto/core';
import { medianOf3, relativeNoise, slope } from './curves.js';
import type { EarlyExitOptions } from './options.js';

/** What the detectors know of one adapter. */
export interface Curve {
  plannedSteps: number;
  warmupSteps: number;
  ema: number | null;
  /** Train EMA and raw validation loss at each evaluation, and the adapter's step then. */
  emaAtEval: number[];
  val: number[];
  valSteps: number[];
  divergeHits: number;
  overfitHits: number;
  /** Validation loss at the end of the adapter's screening phase. */
  warmupVal: number | null;
  /** Last raw training losses, for the spike filter. */
  recentTrain: number[];
}

export function newCurve(plannedSteps: number, opts: EarlyExitOptions): Curve {
  return {
    plannedSteps, warmupSteps: Math.max(1, Math.ceil(opts.warmupFraction * plannedSteps)),
    ema: null, emaAtEval: [], val: [], valSteps: [], divergeHits: 0, overfitHits: 0, warmupVal: null, recentTrain: [],
  };
}

export function onTrainLoss(c: Curve, loss: number, opts: EarlyExitOptions): void {
  if (!Number.isFinite(loss)) return;
  let x = loss;
  if (opts.spikeFilter) {
    // median of the last three raw losses: one outlier batch does not move the EMA
    c.recentTrain = [...c.recentTrain.slice(-2), loss];
    x = medianOf3(c.recentTrain).at(-1)!;
  }
  c.ema = c.ema === null ? x : opts.emaAlpha * x + (1 - opts.emaAlpha) * c.ema;
}

/**
 * Records a validation point and runs the any-time detectors. Divergence: the slopes of the
 * last w EMA-train and validation points are both ≥ τ_slope, p times in a row. Overfitting:
 * the relative gap (val − ema) / ema exceeds τ_gap (and, with `overfitNeedsStall`, the
 * validation loss has stopped falling), p times in a row.
 */
export function onValidLoss(c: Curve, step: number, loss: number, opts: EarlyExitOptions): RetireReason | null {
  if (!Number.isFinite(loss) || c.ema === null) return null;
  c.val.push(loss);
  c.valSteps.push(step);
  c.emaAtEval.push(c.ema);
  if (c.warmupVal === null && step >= c.warmupSteps) c.warmupVal = loss;
  const val = opts.spikeFilter ? medianOf3(c.val) : c.val;
  const sVal = slope(val, opts.window);
  const sTrain = slope(c.emaAtEval, opts.window);
  const valThreshold = Math.max(opts.slopeThreshold, opts.slopeNoiseSigmas * slopeNoise(val, opts.window));
  c.divergeHits = sVal !== null && sTrain !== null && sVal >= valThreshold && sTrain >= opts.slopeThreshold ? c.divergeHits + 1 : 0;
  const latest = val[val.length - 1];
  const stalled = !opts.overfitNeedsStall || (sVal !== null && sVal >= 0);
  c.overfitHits = (latest - c.ema) / c.ema > opts.gapThreshold && stalled ? c.overfitHits + 1 : 0;
  if (c.divergeHits >= opts.patience) return 'diverging';
  if (c.overfitHits >= opts.patience) return 'overfitting';
  return null;
}

/** Standard deviation of a w-point slope fit caused by the curve's own point noise. */
function slopeNoise(values: readonly number[], w: number): number {
  const rel = relativeNoise(values);
  if (rel === null) return 0;
  const level = values.slice(-4).reduce((a, b) => a + b, 0) / Math.min(4, values.length);
  let sxx = 0;
  for (let i = 0; i < w; i++) sxx += (i - (w - 1) / 2) ** 2;
  return (rel * level) / Math.sqrt(sxx);
}

export interface ScreeningEntry {
  name: string;
  config: AdapterConfig;
  /** Validation loss at the end of screening. */
  score: number;
  curve: Curve;
}

export interface ScreeningCut {
  keep: string[];
  cut: string[];
  /** The k-th best score, and the threshold actually applied after the noise band. */
  kth: number;
  threshold: number;
  band: number;
}

/**
 * ALTO's underperformance cut at the end of screening: keep the top ⌈ratio × survivors⌉ by
 * validation loss. Beyond the paper: also keep whatever lies within a noise band above the
 * k-th score (the band is the larger of `cutBand` and `cutNoiseSigmas` × the median relative
 * noise of the curves), and keep a trial whose sibling of another rank survived by a
 * margin smaller than `rankCautionBand`; or, with `deferRank`, cut whole groups of
 * configurations that differ only in rank, each scored by its best member.
 */
export function screeningCut(entries: readonly ScreeningEntry[], opts: EarlyExitOptions): ScreeningCut {
  if (opts.deferRank) return groupedCut(entries, opts);
  const sorted = [...entries].sort((a, b) => a.score - b.score);
  const k = Math.max(1, Math.ceil(opts.keepRatio * sorted.length));
  const kth = sorted[Math.min(k, sorted.length) - 1].score;
  const noises = sorted.map((e) => relativeNoise(e.curve.val)).filter((n): n is number => n !== null).sort((a, b) => a - b);
  const noise = noises.length > 0 ? noises[Math.floor(noises.length / 2)] : 0;
  const band = Math.max(opts.cutBand, opts.cutNoiseSigmas * noise);
  const threshold = kth * (1 + band);
  const keep = new Set(sorted.filter((e, i) => i < k || e.score <= threshold).map((e) => e.name));
  if (opts.rankCautionBand > 0) {
    const kept = sorted.filter((e) => keep.has(e.name));
    for (const e of sorted) {
      if (keep.has(e.name)) continue;
      const sibling = kept.find((s) => s.config.rank !== e.config.rank && sameExceptRank(s.config, e.config));
      if (sibling && e.score <= sibling.score * (1 + opts.rankCautionBand)) keep.add(e.name);
    }
  }
  return { keep: sorted.filter((e) => keep.has(e.name)).map((e) => e.name), cut: sorted.filter((e) => !keep.has(e.name)).map((e) => e.name), kth, threshold, band };
}

/** The cut over groups of configurations that differ only in rank (`deferRank`). */
function groupedCut(entries: readonly ScreeningEntry[], opts: EarlyExitOptions): ScreeningCut {
  const groups = new Map<string, ScreeningEntry[]>();
  for (const e of entries) {
    const key = JSON.stringify({ ...e.config, rank: 0, alpha: e.config.alpha / e.config.rank, seed: e.config.seed, targets: e.config.targets.map(String) });
    groups.set(key, [...(groups.get(key) ?? []), e]);
  }
  const scored = [...groups.values()].map((members) => ({
    members,
    name: members[0].name,
    config: members[0].config,
    score: Math.min(...members.map((m) => m.score)),
    curve: members.reduce((best, m) => (m.score < best.score ? m : best)).curve,
  }));
  const cut = screeningCut(scored, { ...opts, deferRank: false, rankCautionBand: 0 });
  const keptGroups = new Set(cut.keep);
  const keep = scored.filter((g) => keptGroups.has(g.name)).flatMap((g) => g.members);
  const sorted = [...entries].sort((a, b) => a.score - b.score);
  const kept = new Set(keep.map((e) => e.name));
  return { ...cut, keep: sorted.filter((e) => kept.has(e.name)).map((e) => e.name), cut: sorted.filter((e) => !kept.has(e.name)).map((e) => e.name) };
}

function sameExceptRank(a: AdapterConfig, b: AdapterConfig): boolean {
  return (
    a.learningRate === b.learningRate && a.batchSize === b.batchSize && a.dropout === b.dropout &&
    a.weightDecay === b.weightDecay && a.alpha / a.rank === b.alpha / b.rank && JSON.stringify(a.optimizer) === JSON.stringify(b.optimizer)
  );
}
