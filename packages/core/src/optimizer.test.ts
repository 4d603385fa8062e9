import { describe, expect, it } from 'vitest';
import { adamw, hostOps, sgd } from './optimizer.js';

/** torch.optim.AdamW written out for one scalar parameter. */
function torchAdamW(p: number, grads: number[], lr: number, wd: number, b1 = 0.9, b2 = 0.999, eps = 1e-8): number {
  let m = 0;
  let v = 0;
  grads.forEach((g, i) => {
    const t = i + 1;
    p *= 1 - lr * wd;
    m = b1 * m + (1 - b1) * g;
    v = b2 * v + (1 - b2) * g * g;
    const mhat = m / (1 - b1 ** t);
    const vhat = v / (1 - b2 ** t);
    p -= (lr * mhat) / (Math.sqrt(vhat) + eps);
  });
  return p;
}

describe('optimizers', () => {
  it('AdamW: bias correction and decoupled weight decay, as torch computes them', () => {
    const grads = [0.5, -0.25, 1.5, 0.1, -2];
    const opt = adamw<Float32Array>({ type: 'adamw' });
    const p = Float32Array.of(0.7, -0.3);
    const state = opt.init([p], hostOps);
    for (const g of grads) opt.update([p], [Float32Array.of(g, 2 * g)], state, { learningRate: 0.01, weightDecay: 0.1 }, hostOps);
    expect(p[0]).toBeCloseTo(torchAdamW(0.7, grads, 0.01, 0.1), 6);
    expect(p[1]).toBeCloseTo(torchAdamW(-0.3, grads.map((g) => 2 * g), 0.01, 0.1), 6);
    expect(state.step).toBe(5);
  });

  it('AdamW: each adapter its own hyperparameters and state', () => {
    const opt = adamw<Float32Array>({ type: 'adamw' });
    const p1 = Float32Array.of(1);
    const p2 = Float32Array.of(1);
    const s1 = opt.init([p1], hostOps);
    const s2 = opt.init([p2], hostOps);
    opt.update([p1], [Float32Array.of(1)], s1, { learningRate: 0.1, weightDecay: 0 }, hostOps);
    opt.update([p2], [Float32Array.of(1)], s2, { learningRate: 0.01, weightDecay: 0 }, hostOps);
    opt.update([p2], [Float32Array.of(1)], s2, { learningRate: 0.01, weightDecay: 0 }, hostOps);
    expect(p1[0]).toBeCloseTo(0.9, 5);
    expect(p2[0]).toBeCloseTo(0.98, 5);
  });

  it('SGD with momentum and L2 decay, torch semantics', () => {
    const opt = sgd<Float32Array>({ type: 'sgd', momentum: 0.9 });
    const p = Float32Array.of(1);
    const st = opt.init([p], hostOps);
    // step 1: d = g + wd·p = 1 + 0.1 = 1.1; buf = 1.1; p = 1 − 0.1·1.1 = 0.89
    opt.update([p], [Float32Array.of(1)], st, { learningRate: 0.1, weightDecay: 0.1 }, hostOps);
    expect(p[0]).toBeCloseTo(0.89, 6);
    // step 2: d = 1 + 0.089 = 1.089; buf = 0.9·1.1 + 1.089 = 2.079; p = 0.89 − 0.2079
    opt.update([p], [Float32Array.of(1)], st, { learningRate: 0.1, weightDecay: 0.1 }, hostOps);
    expect(p[0]).toBeCloseTo(0.6821, 6);
  });
});
