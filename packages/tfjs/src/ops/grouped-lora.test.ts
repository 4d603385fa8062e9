import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildSegmentPlan, hostGroupedLoraBackward, hostGroupedLoraForward, Rng, SegmentPlan } from '@alto/core';
import { relErr } from '../test-support/fixtures.js';
import { BATCHED_PROVIDER, groupedLora, GroupedLoraProvider, NATIVE_PROVIDER, REFERENCE_PROVIDER } from './grouped-lora.js';

/** Fresh random inputs for a plan with zero-length segments and ranks that are not multiples of 8. */
function problem(seed: number, dIn: number, dOut: number, ranks: number[], rows: number[], owner: number[]) {
  const rng = new Rng(seed);
  const adapters = ranks.map((rank, i) => ({ name: `a${i}`, rank, scale: (2 * rank) / rank + i * 0.25 }));
  // written out by hand: an adapter without segments and rows of no adapter (-1)
  const offsets = new Int32Array(rows.length + 1);
  rows.forEach((r, s) => (offsets[s + 1] = offsets[s] + r));
  const ordered: SegmentPlan = {
    totalRows: offsets[rows.length], segmentOffsets: offsets, segmentAdapter: Int32Array.from(owner), adapters, maxRank: Math.max(...ranks),
  };
  const T = ordered.totalRows;
  const rand = (n: number) => Float64Array.from({ length: n }, () => rng.uniform(-1, 1));
  return {
    plan: ordered, dIn, dOut,
    x: rand(T * dIn), base: rand(T * dOut), dy: rand(T * dOut),
    A: ranks.map((r) => rand(dIn * r)), B: ranks.map((r) => rand(r * dOut)),
  };
}


const CASES: [string, string, GroupedLoraProvider][] = [];
const PROVIDERS = [['reference', REFERENCE_PROVIDER], ['batched', BATCHED_PROVIDER], ['native', NATIVE_PROVIDER]] as const;
for (const backend of ['cpu', 'wasm']) for (const [name, p] of PROVIDERS) CASES.push([backend, name, p]);

describe.each(CASES)('groupedLora op on %s, %s kernel', (backend, _name, provider) => {
  beforeAll(async () => {
    await tf.setBackend(backend);
    await tf.ready();
  });

  // segments: 3 rows of a0, 0 of a1, 5 of a2, 2 of nobody (-1), 4 more of a0; a3 owns none
  const p = problem(7, 19, 13, [3, 5, 12, 1], [3, 0, 5, 2, 4], [0, 1, 2, -1, 0]);
  // equal segments of mixed ranks side by side (one batched run), then one of nobody
  const q = problem(8, 10, 7, [2, 9, 4, 1], [4, 4, 4, 4, 3], [3, 0, 2, 1, -1]);
  const T = p.plan.totalRows;
  const t2 = (d: Float64Array, shape: [number, number]) => tf.tensor2d(Float32Array.from(d), shape);

  it.each([['skewed segments', p], ['equal segments of mixed ranks', q]])('forward matches the float64 reference (%s)', (_, c) => {
    const y = Float64Array.from(c.base);
    hostGroupedLoraForward({ plan: c.plan, dIn: c.dIn, dOut: c.dOut, x: c.x, A: c.A, B: c.B }, y);
    const n = c.plan.totalRows;
    const out = tf.tidy(() =>
      groupedLora(t2(c.x, [n, c.dIn]), t2(c.base, [n, c.dOut]), c.A.map((a, i) => t2(a, [c.dIn, c.plan.adapters[i].rank])), c.B.map((b, i) => t2(b, [c.plan.adapters[i].rank, c.dOut])), c.plan, provider),
    );
    expect(out.shape).toEqual([n, c.dOut]);
    expect(relErr(out.dataSync(), y)).toBeLessThan(1e-5);
    out.dispose();
  });

  it.each([['skewed segments', p], ['equal segments of mixed ranks', q]])('gradients match the float64 reference, zero for an adapter without rows (%s)', (_, c) => {
    const p = c;
    const T = c.plan.totalRows;
    const ref = hostGroupedLoraBackward({ plan: p.plan, dIn: p.dIn, dOut: p.dOut, x: p.x, A: p.A, B: p.B }, p.dy);
    const before = tf.memory().numTensors;
    const grads = tf.tidy(() => {
      const x = t2(p.x, [T, p.dIn]);
      const base = t2(p.base, [T, p.dOut]);
      const A = p.A.map((a, i) => t2(a, [p.dIn, p.plan.adapters[i].rank]));
      const B = p.B.map((b, i) => t2(b, [p.plan.adapters[i].rank, p.dOut]));
      const dy = t2(p.dy, [T, p.dOut]);
      const f = (xx: tf.Tensor, bb: tf.Tensor, ...w: tf.Tensor[]) =>
        groupedLora(xx as tf.Tensor2D, bb as tf.Tensor2D, w.slice(0, 4) as tf.Tensor2D[], w.slice(4) as tf.Tensor2D[], p.plan, provider);
      return tf.grads(f)([x, base, ...A, ...B], dy);
    });
    expect(relErr(grads[0].dataSync(), ref.dX)).toBeLessThan(1e-5);
    expect(relErr(grads[1].dataSync(), p.dy)).toBeLessThan(1e-6);
    for (let i = 0; i < 4; i++) {
      expect(relErr(grads[2 + i].dataSync(), ref.dA[i]), `dA${i}`).toBeLessThan(1e-5);
      expect(relErr(grads[6 + i].dataSync(), ref.dB[i]), `dB${i}`).toBeLessThan(1e-5);
    }
    if (c === q) expect(Array.from(grads[5].dataSync()).every((v) => v === 0)).toBe(false);
    else expect(Array.from(grads[5].dataSync()).every((v) => v === 0)).toBe(true);
    tf.dispose(grads);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('gradients of weights held in variables (read directly, not saved) match the float64 reference', () => {
    const ref = hostGroupedLoraBackward({ plan: p.plan, dIn: p.dIn, dOut: p.dOut, x: p.x, A: p.A, B: p.B }, p.dy);
    // a mix: A of adapters 0 and 2 and every B in variables, the other A as plain tensors
    const A = p.A.map((a, i) => (i % 2 === 0 ? tf.variable(t2(a, [p.dIn, p.plan.adapters[i].rank])) : t2(a, [p.dIn, p.plan.adapters[i].rank])));
    const B = p.B.map((b, i) => tf.variable(t2(b, [p.plan.adapters[i].rank, p.dOut])));
    const x = t2(p.x, [T, p.dIn]), base = t2(p.base, [T, p.dOut]), dy = t2(p.dy, [T, p.dOut]);
    const before = tf.memory().numTensors;
    const grads = tf.grads((xx: tf.Tensor, ...w: tf.Tensor[]) =>
      tf.tidy(() => groupedLora(xx as tf.Tensor2D, base, w.slice(0, 4) as tf.Tensor2D[], w.slice(4) as tf.Tensor2D[], p.plan, provider)),
    )([x, ...A, ...B], dy);
    expect(relErr(grads[0].dataSync(), ref.dX)).toBeLessThan(1e-5);
    for (let i = 0; i < 4; i++) {
      expect(relErr(grads[1 + i].dataSync(), ref.dA[i]), `dA${i}`).toBeLessThan(1e-5);
      expect(relErr(grads[5 + i].dataSync(), ref.dB[i]), `dB${i}`).toBeLessThan(1e-5);
    }
    tf.dispose(grads);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, base, dy, ...A, ...B]);
  });

  it('gradients agree with central differences of the float64 forward', () => {
    // d/dθ of L = Σ dy ⊙ y, probed on a few coordinates of A, B and x
    const loss = (q: typeof p) => {
      const y = Float64Array.from(q.base);
      hostGroupedLoraForward({ plan: q.plan, dIn: q.dIn, dOut: q.dOut, x: q.x, A: q.A, B: q.B }, y);
      return y.reduce((s, v, i) => s + v * q.dy[i], 0);
    };
    const out = tf.tidy(() => {
      const x = t2(p.x, [T, p.dIn]);
      const A = p.A.map((a, i) => t2(a, [p.dIn, p.plan.adapters[i].rank]));
      const B = p.B.map((b, i) => t2(b, [p.plan.adapters[i].rank, p.dOut]));
      const g = tf.grads((xx: tf.Tensor, a2: tf.Tensor, b2: tf.Tensor) =>
        groupedLora(xx as tf.Tensor2D, t2(p.base, [T, p.dOut]), [A[0], A[1], a2 as tf.Tensor2D, A[3]], [B[0], B[1], b2 as tf.Tensor2D, B[3]], p.plan, provider),
      )([x, A[2], B[2]], t2(p.dy, [T, p.dOut]));
      return g.map((t) => t.dataSync());
    });
    const h = 1e-6;
    const probe = (field: 'x' | 'A' | 'B', idx: number) => {
      const plus = structuredClone(p);
      const minus = structuredClone(p);
      if (field === 'x') {
        plus.x[idx] += h;
        minus.x[idx] -= h;
      } else {
        plus[field][2][idx] += h;
        minus[field][2][idx] -= h;
      }
      return (loss(plus) - loss(minus)) / (2 * h);
    };
    for (const idx of [0, 17, 40]) expect(out[0][idx]).toBeCloseTo(probe('x', idx), 3);
    for (const idx of [0, 50, 200]) expect(out[1][idx]).toBeCloseTo(probe('A', idx), 3);
    for (const idx of [1, 70, 150]) expect(out[2][idx]).toBeCloseTo(probe('B', idx), 3);
  });

  it('rejects mismatched shapes with a clear error', () => {
    const plan = buildSegmentPlan([{ adapter: { name: 'a', rank: 2, scale: 1 }, rows: 3 }]);
    expect(() => groupedLora(tf.zeros([3, 4]) as tf.Tensor2D, tf.zeros([3, 5]) as tf.Tensor2D, [tf.zeros([4, 3]) as tf.Tensor2D], [tf.zeros([2, 5]) as tf.Tensor2D], plan)).toThrow(/A\[0\] must be \[4, 2\]/);
    expect(() => groupedLora(tf.zeros([2, 4]) as tf.Tensor2D, tf.zeros([2, 5]) as tf.Tensor2D, [tf.zeros([4, 2]) as tf.Tensor2D], [tf.zeros([2, 5]) as tf.Tensor2D], plan)).toThrow(/covers 3 rows/);
  });
});
