import { describe, expect, it } from 'vitest';
import { hostGroupedLoraBackward, hostGroupedLoraForward, type SegmentPlan } from '@alto/core';
import { loadNativeKernels, nativePlan, NATIVE_OFF_ENV } from '@alto/kernels';

/**
 * The CPU kernels of the addon against the float64 reference of @alto/core, on fresh random
 * inputs, with every output poisoned (NaN) before the call so an element left unwritten
 * fails. Weight gradients start from random values: the kernels add into them.
 */
const load = loadNativeKernels();
const off = process.env[NATIVE_OFF_ENV] === '1';
if (!load.ok) console.warn(`[@alto/kernels] ${load.reason}`);

interface Case {
  name: string;
  lengths: number[];
  owners: number[];
  ranks: number[];
  dIn: number;
  dOut: number;
}

const CASES: Case[] = [
  { name: 'mixed ranks, odd dims, an adapter with two segments', lengths: [7, 0, 1, 33, 2], owners: [0, 1, 2, 3, 0], ranks: [3, 5, 12, 1], dIn: 37, dOut: 29 },
  { name: 'rows without LoRA, an adapter with no rows', lengths: [4, 9, 0, 17], owners: [1, -1, 0, 1], ranks: [8, 64, 2], dIn: 70, dOut: 45 },
  { name: 'ranks 65..256', lengths: [40, 3, 65], owners: [0, 1, 2], ranks: [256, 65, 130], dIn: 96, dOut: 200 },
  { name: 'skewed segments of 0, 1 and 4096 rows', lengths: [0, 1, 4096, 1, 0, 300], owners: [0, 1, 2, 3, 4, 5], ranks: [16, 32, 64, 7, 16, 33], dIn: 257, dOut: 131 },
  {
    name: '256 adapters, ranks 1..256',
    lengths: Array.from({ length: 256 }, (_, a) => a % 5),
    owners: Array.from({ length: 256 }, (_, a) => a),
    ranks: Array.from({ length: 256 }, (_, a) => 1 + ((a * 37) % 256)),
    dIn: 72,
    dOut: 88,
  },
];

function planOf(c: Case): SegmentPlan {
  const offsets = new Int32Array(c.lengths.length + 1);
  c.lengths.forEach((n, s) => (offsets[s + 1] = offsets[s] + n));
  return {
    totalRows: offsets[c.lengths.length],
    segmentOffsets: offsets,
    segmentAdapter: Int32Array.from(c.owners),
    adapters: c.ranks.map((rank, a) => ({ name: `a${a}`, rank, scale: 0.5 + ((a * 7) % 5) / 2 })),
    maxRank: Math.max(...c.ranks),
  };
}

const random = (n: number) => Float32Array.from({ length: n }, () => Math.random() * 2 - 1);
const poisoned = (n: number) => new Float32Array(n).fill(Number.NaN);

/** ‖got − ref‖ / ‖ref‖ over the whole output; NaN anywhere gives Infinity. */
function relError(got: ArrayLike<number>, ref: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < ref.length; i++) {
    if (!Number.isFinite(got[i])) return Infinity;
    num += (got[i] - ref[i]) ** 2;
    den += ref[i] ** 2;
  }
  return Math.sqrt(num / Math.max(den, 1e-300));
}

describe.skipIf(off)('native CPU grouped-LoRA kernels', () => {
  it('the addon is built and loads', () => {
    expect(load.ok, load.ok ? '' : load.reason).toBe(true);
  });

  for (const c of CASES) {
    it(`forward and backward match the float64 reference (${c.name})`, () => {
      if (!load.ok) throw new Error(load.reason);
      const k = load.kernels;
      const plan = planOf(c);
      const T = plan.totalRows;
      const { dIn, dOut } = c;
      const x = random(T * dIn);
      const base = random(T * dOut);
      const dy = random(T * dOut);
      const A = c.ranks.map((r) => random(dIn * r));
      const B = c.ranks.map((r) => random(r * dOut));
      const dA0 = c.ranks.map((r) => random(dIn * r));
      const dB0 = c.ranks.map((r) => random(r * dOut));
      const np = nativePlan({ ...plan, ranks: plan.adapters.map((a) => a.rank), scales: plan.adapters.map((a) => a.scale) });

      const y = poisoned(T * dOut);
      k.cpuForward(np, x, dIn, A, B, base, y, dOut);
      const dx = poisoned(T * dIn);
      const dA = dA0.map((g) => g.slice());
      const dB = dB0.map((g) => g.slice());
      k.cpuBackward(np, x, dIn, dy, dOut, A, B, dx, dA, dB);

      const f64 = (v: Float32Array) => Float64Array.from(v);
      const args = { plan, dIn, dOut, x: f64(x), A: A.map(f64), B: B.map(f64) };
      const yRef = f64(base);
      hostGroupedLoraForward(args, yRef);
      const ref = hostGroupedLoraBackward(args, f64(dy));
      const added = (after: Float32Array[], before: Float32Array[]) => Float64Array.from(after.flatMap((g, a) => Array.from(g, (v, i) => v - before[a][i])));
      // No base (null): y is the LoRA alone, and rows of no adapter are written 0.
      const yAlone = poisoned(T * dOut);
      k.cpuForward(np, x, dIn, A, B, null, yAlone, dOut);
      const aloneRef = new Float64Array(T * dOut);
      hostGroupedLoraForward(args, aloneRef);
      const errors = {
        y: relError(y, yRef),
        yWithoutBase: relError(yAlone, aloneRef),
        dX: relError(dx, ref.dX),
        dA: relError(added(dA, dA0), Float64Array.from(ref.dA.flatMap((g) => Array.from(g)))),
        dB: relError(added(dB, dB0), Float64Array.from(ref.dB.flatMap((g) => Array.from(g)))),
      };
      console.log(`[${c.name}] max relative error ${Math.max(...Object.values(errors)).toExponential(2)}`);
      for (const [what, e] of Object.entries(errors)) expect(e, what).toBeLessThanOrEqual(1e-5);
    });
  }

  it('gives bitwise the same results on 1 thread and on all of them', () => {
    if (!load.ok) throw new Error(load.reason);
    const k = load.kernels;
    const c = CASES[3];
    const plan = planOf(c);
    const np = nativePlan({ ...plan, ranks: plan.adapters.map((a) => a.rank), scales: plan.adapters.map((a) => a.scale) });
    const T = plan.totalRows;
    const x = random(T * c.dIn);
    const dy = random(T * c.dOut);
    const A = c.ranks.map((r) => random(c.dIn * r));
    const B = c.ranks.map((r) => random(r * c.dOut));
    const run = () => {
      const dx = new Float32Array(T * c.dIn);
      const dA = c.ranks.map((r) => new Float32Array(c.dIn * r));
      const dB = c.ranks.map((r) => new Float32Array(r * c.dOut));
      k.cpuBackward(np, x, c.dIn, dy, c.dOut, A, B, dx, dA, dB);
      return [dx, ...dA, ...dB];
    };
    const before = k.cpuThreads();
    try {
      k.cpuSetThreads(1);
      const one = run();
      k.cpuSetThreads(0);
      const all = run();
      // bitwise: compare the bytes (a deep-equal over a million floats is slow)
      one.forEach((g, i) => expect(Buffer.compare(Buffer.from(g.buffer), Buffer.from(all[i].buffer)), `output ${i}`).toBe(0));
    } finally {
      k.cpuSetThreads(before);
    }
  });

  it('rejects bad arguments with the field and the reason, writing nothing', () => {
    if (!load.ok) throw new Error(load.reason);
    const k = load.kernels;
    const plan = nativePlan({ segmentOffsets: [0, 2, 5], segmentAdapter: [0, 1], ranks: [2, 3], scales: [1, 0.5] });
    const x = random(5 * 4);
    const base = random(5 * 3);
    const A = [random(8), random(12)];
    const B = [random(6), random(9)];
    const y = poisoned(15);
    expect(() => k.cpuForward(plan, x, 4, A, B, base, new Float32Array(3), 3)).toThrow(/y: expected 15 elements, got 3/);
    expect(() => k.cpuForward(plan, x, 4, [A[0]], B, base, y, 3)).toThrow(/A: expected 2 arrays, got 1/);
    expect(() => k.cpuForward(plan, x, 4, A, [B[0], random(8)], base, y, 3)).toThrow(/B: expected 9 elements, got 8/);
    expect(() => k.cpuForward({ ...plan, segmentAdapter: Int32Array.from([0, 2]) }, x, 4, A, B, base, y, 3)).toThrow(/plan: invalid argument/);
    expect(() => k.cpuForward({ ...plan, segmentOffsets: Int32Array.from([0, 3, 2]) }, x, 4, A, B, base, y, 3)).toThrow(/plan: invalid argument/);
    expect(() => k.cpuForward({ ...plan, ranks: [2, 3] as unknown as Int32Array }, x, 4, A, B, base, y, 3)).toThrow(/plan.ranks must be an Int32Array/);
    expect(Array.from(y).every(Number.isNaN)).toBe(true);
  });
});
