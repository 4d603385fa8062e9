import { describe, expect, it } from 'vitest';
import { buildSegmentPlan, expandRows, rowsOfAdapter, validateSegmentPlan } from './segment-plan.js';

const a = { name: 'a', rank: 4, scale: 2 };
const b = { name: 'b', rank: 8, scale: 1 };
const c = { name: 'c', rank: 2, scale: 2 };

describe('segment plan', () => {
  it('is the worked example of its documentation', () => {
    const plan = buildSegmentPlan([{ adapter: a, rows: 2 }, { adapter: b, rows: 0 }, { adapter: c, rows: 3 }]);
    expect(Array.from(plan.segmentOffsets)).toEqual([0, 2, 2, 5]);
    expect(Array.from(plan.segmentAdapter)).toEqual([0, 1, 2]);
    expect(plan.totalRows).toBe(5);
    expect(plan.maxRank).toBe(8);
    expect(rowsOfAdapter(plan, 2)).toEqual([[2, 5]]);
    validateSegmentPlan(plan);
  });

  it('lets an adapter own several segments', () => {
    const plan = buildSegmentPlan([{ adapter: a, rows: 1 }, { adapter: c, rows: 2 }, { adapter: a, rows: 3 }]);
    expect(plan.adapters.map((x) => x.name)).toEqual(['a', 'c']);
    expect(rowsOfAdapter(plan, 0)).toEqual([[0, 1], [3, 6]]);
  });

  it('expands example rows to token rows', () => {
    const plan = expandRows(buildSegmentPlan([{ adapter: a, rows: 2 }, { adapter: c, rows: 1 }]), 4);
    expect(Array.from(plan.segmentOffsets)).toEqual([0, 8, 12]);
    expect(plan.totalRows).toBe(12);
  });

  it('rejects negative or fractional rows and inconsistent plans', () => {
    expect(() => buildSegmentPlan([{ adapter: a, rows: -1 }])).toThrow(/rows must be an integer/);
    const plan = buildSegmentPlan([{ adapter: a, rows: 2 }]);
    expect(() => validateSegmentPlan({ ...plan, totalRows: 3 })).toThrow(/totalRows/);
    expect(() => validateSegmentPlan({ ...plan, segmentAdapter: Int32Array.of(4) })).toThrow(/names adapter 4/);
  });
});
