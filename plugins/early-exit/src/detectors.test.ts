import { describe, expect, it } from 'vitest';
import { resolveAdapterConfig, Rng } from '@alto/core';
import { newCurve, onTrainLoss, onValidLoss, screeningCut } from './detectors.js';
import { DEFAULTS, PAPER_DEFAULTS, resolveEarlyExitOptions } from './options.js';
import type { EarlyExitOptions } from './options.js';

/** Feeds a run: train(step) every step, val(step) every `every` steps; returns the first exit. */
function simulate(train: (s: number) => number, val: (s: number) => number, opts: EarlyExitOptions, steps = 200, every = 4) {
  const c = newCurve(steps, opts);
  for (let s = 1; s <= steps; s++) {
    onTrainLoss(c, train(s), opts);
    if (s % every === 0) {
      const r = onValidLoss(c, s, val(s), opts);
      if (r) return { reason: r, step: s };
    }
  }
  return null;
}

const decaying = (s: number) => 0.5 + 2 * Math.exp(-s / 40);

describe('early-exit detectors on synthetic curves', () => {
  for (const [mode, opts] of [['paper', PAPER_DEFAULTS], ['default', DEFAULTS]] as const) {
    it(`${mode}: a diverging curve exits as diverging`, () => {
      const up = (s: number) => (s < 40 ? decaying(s) : decaying(40) + 0.02 * (s - 40));
      const exit = simulate(up, (s) => up(s) * 1.02, opts);
      expect(exit?.reason).toBe('diverging');
      expect(exit!.step).toBeGreaterThan(40);
      expect(exit!.step).toBeLessThan(80);
    });

    it(`${mode}: an overfitting curve exits as overfitting`, () => {
      const val = (s: number) => (s < 60 ? decaying(s) * 1.03 : decaying(60) * 1.03 + 0.01 * (s - 60));
      const exit = simulate(decaying, val, opts);
      expect(exit?.reason).toBe('overfitting');
      expect(exit!.step).toBeGreaterThan(60);
    });

    it(`${mode}: a healthy curve never exits`, () => {
      expect(simulate(decaying, (s) => decaying(s) * 1.04, opts)).toBeNull();
    });
  }

  it('a validation set harder from the start is not overfitting while its loss still falls (paper mode exits)', () => {
    const exitDefault = simulate(decaying, (s) => decaying(s) * 1.3, DEFAULTS);
    const exitPaper = simulate(decaying, (s) => decaying(s) * 1.3, PAPER_DEFAULTS);
    expect(exitPaper?.reason).toBe('overfitting');
    expect(exitPaper!.step).toBeLessThan(20);
    expect(exitDefault).toBeNull();
  });

  it('noisy but fine: ±5 % noise and a single ×4 spike anywhere never kill a trial', () => {
    for (let spikeAt = 4; spikeAt <= 200; spikeAt += 4) {
      const rng = new Rng(spikeAt);
      const noise = Array.from({ length: 201 }, () => 1 + rng.uniform(-0.05, 0.05));
      const train = (s: number) => decaying(s) * noise[s] * (s === spikeAt ? 4 : 1);
      const val = (s: number) => decaying(s) * 1.04 * noise[200 - s] * (s === spikeAt ? 4 : 1);
      expect(simulate(train, val, DEFAULTS), `spike at ${spikeAt}`).toBeNull();
    }
  });

  it('records the validation loss at the end of screening (5 % of planned steps)', () => {
    const c = newCurve(200, DEFAULTS);
    expect(c.warmupSteps).toBe(10);
    for (let s = 1; s <= 12; s++) {
      onTrainLoss(c, 1, DEFAULTS);
      if (s === 8 || s === 10 || s === 12) onValidLoss(c, s, s / 10, DEFAULTS);
    }
    expect(c.warmupVal).toBe(1);
  });
});

describe('screening cut', () => {
  const cfg = (rank: number, lr: number) => resolveAdapterConfig({ rank, learningRate: lr, batchSize: 4, steps: 100, alpha: 2 * rank });
  const entry = (name: string, score: number, rank = 8, lr = 1e-3) => {
    const curve = newCurve(100, DEFAULTS);
    curve.val = [score * 1.2, score * 1.1, score * 1.05, score];
    return { name, config: cfg(rank, lr), score, curve };
  };

  it('keeps the top ⌈25 %⌉ (paper)', () => {
    const entries = [1.0, 0.8, 1.3, 0.9, 1.1, 1.5, 1.2, 1.4].map((s, i) => entry(`t${i}`, s, 8, 1e-4 * (i + 1)));
    const cut = screeningCut(entries, PAPER_DEFAULTS);
    expect(cut.keep).toEqual(['t1', 't3']);
    expect(cut.cut).toHaveLength(6);
  });

  it('late bloomer: a trial within the noise band of the cut survives by default, not in the paper mode', () => {
    const entries = [1.0, 0.8, 1.3, 0.9, 0.905, 1.5, 1.2, 1.4].map((s, i) => entry(`t${i}`, s, 8, 1e-4 * (i + 1)));
    expect(screeningCut(entries, PAPER_DEFAULTS).keep).toEqual(['t1', 't3']);
    expect(screeningCut(entries, { ...DEFAULTS, deferRank: false }).keep).toEqual(['t1', 't3', 't4']);
  });

  it('rank caution: the other-rank sibling of a survivor is kept when close to it', () => {
    const entries = [entry('r8', 0.8, 8), entry('r64', 0.83, 64), entry('a', 1.0, 8, 2e-3), entry('b', 1.1, 8, 3e-3), entry('c', 1.2, 8, 4e-3), entry('d', 1.3, 8, 5e-3), entry('e', 0.82, 8, 6e-3), entry('f', 1.4, 8, 7e-3)];
    expect(screeningCut(entries, PAPER_DEFAULTS).keep).toEqual(['r8', 'e']);
    expect(screeningCut(entries, { ...DEFAULTS, cutBand: 0, cutNoiseSigmas: 0, rankCautionBand: 0.05, deferRank: false }).keep).toEqual(['r8', 'e', 'r64']);
  });

  it('deferRank: ranks are not judged at the cut; groups over rank survive whole, scored by their best', () => {
    // 4 settings (lr) × 2 ranks; the rank-2 member of lr 3e-3 starts slowly but belongs to the best group
    const entries = [
      entry('a8', 0.80, 8, 1e-3), entry('a2', 0.95, 2, 1e-3),
      entry('b8', 0.70, 8, 3e-3), entry('b2', 1.60, 2, 3e-3),
      entry('c8', 1.20, 8, 1e-2), entry('c2', 1.10, 2, 1e-2),
      entry('d8', 1.40, 8, 3e-2), entry('d2', 1.50, 2, 3e-2),
    ];
    const opts = { ...DEFAULTS, cutBand: 0, cutNoiseSigmas: 0 };
    expect(screeningCut(entries, { ...opts, deferRank: false, rankCautionBand: 0 }).keep).toEqual(['b8', 'a8']);
    // ⌈25 % × 4 groups⌉ = 1 group: as many trials as the plain cut keeps, but rank 2 of the best setting survives
    expect(screeningCut(entries, opts).keep).toEqual(['b8', 'b2']);
  });
});

describe('options', () => {
  it('defaults to the paper thresholds', () => {
    expect(resolveEarlyExitOptions()).toMatchObject({ window: 2, patience: 2, gapThreshold: 0.1, slopeThreshold: 0.001, warmupFraction: 0.05, keepRatio: 0.25 });
  });
  it.each([
    ['earlyExit.window', { window: 1 }],
    ['earlyExit.patience', { patience: 0 }],
    ['earlyExit.keepRatio', { keepRatio: 0 }],
    ['earlyExit.keepRatio', { keepRatio: 1.5 }],
    ['earlyExit.warmupFraction', { warmupFraction: 0 }],
    ['earlyExit.emaAlpha', { emaAlpha: 2 }],
    ['earlyExit.gapThreshold', { gapThreshold: -1 }],
    ['earlyExit.evalEvery', { evalEvery: 2.5 }],
    ['earlyExit.spikeFilter', { spikeFilter: 'yes' }],
    ['earlyExit.tau', { tau: 1 }],
  ])('rejects %s', (field, bad) => {
    expect(() => resolveEarlyExitOptions(bad as never)).toThrow(field);
  });
});
