import { describe, expect, it } from 'vitest';
import { admitWithinBudget, CapacityModel, greedyAdmissionOrder } from './capacity.js';

const c = (name: string, batchSize: number, rank = 8) => ({ name, batchSize, rank });

describe('capacity model', () => {
  it('recovers M(B) = k0 + k1·rows + k2·Σrank and step time from observed steps', () => {
    const m = new CapacityModel();
    const bytes = (rows: number, rankSum: number) => 1e6 + 2e4 * rows + 3e3 * rankSum;
    const ms = (rows: number, rankSum: number, n: number) => 5 + 0.5 * rows + 0.01 * rankSum + 1 * n;
    for (const [rows, rankSum, n] of [[4, 8, 1], [12, 24, 2], [40, 56, 6], [20, 80, 3], [64, 64, 8]]) {
      m.observe({ rows, rankSum, adapters: n, bytes: bytes(rows, rankSum), ms: ms(rows, rankSum, n) });
    }
    expect(m.predictBytes({ rows: 100, rankSum: 200, adapters: 10 })! / bytes(100, 200)).toBeCloseTo(1, 3);
    expect(m.predictMs({ rows: 100, rankSum: 200, adapters: 10 })! / ms(100, 200, 10)).toBeCloseTo(1, 2);
  });

  it('greedy order: largest batch first, equal batches together, freed batch size first when backfilling', () => {
    const cands = [c('a', 2), c('b', 8), c('c', 2), c('d', 4), c('e', 8)];
    expect(greedyAdmissionOrder(cands, null).map((x) => x.name)).toEqual(['b', 'e', 'd', 'a', 'c']);
    expect(greedyAdmissionOrder(cands, 2).map((x) => x.name)).toEqual(['a', 'c', 'b', 'e', 'd']);
  });

  it('admits within a fixed budget and safety margin, skipping what does not fit for what does', () => {
    // 1 MB base + 100 kB per row: budget 2 MB with 10% margin leaves room for 8 rows.
    const m = new CapacityModel();
    m.observe({ rows: 1, rankSum: 8, adapters: 1, bytes: 1.1e6, ms: 1 });
    m.observe({ rows: 4, rankSum: 16, adapters: 2, bytes: 1.4e6, ms: 2 });
    m.observe({ rows: 6, rankSum: 8, adapters: 1, bytes: 1.6e6, ms: 2 });
    const limits = { maxAdapters: 10, budgetBytes: 2e6, safetyMargin: 0.1 };
    const empty = { rows: 0, rankSum: 0, adapters: 0 };
    const ordered = greedyAdmissionOrder([c('big', 8, 0), c('mid', 4, 0), c('small', 2, 0), c('s2', 2, 0), c('one', 1, 0)], null);
    expect(admitWithinBudget(ordered, empty, limits, m).map((x) => x.name)).toEqual(['big']);
    // backfill after "big" left, next to a resident 4-row adapter: 4 + 2 + 2 fits, then 1 does not
    const resident = { rows: 4, rankSum: 0, adapters: 1 };
    expect(admitWithinBudget(greedyAdmissionOrder([c('big', 8, 0), c('s1', 2, 0), c('s2', 2, 0), c('one', 1, 0)], 8), resident, limits, m).map((x) => x.name)).toEqual(['s1', 's2']);
    // the adapter count limit holds too
    expect(admitWithinBudget(ordered, empty, { ...limits, budgetBytes: 1e9, maxAdapters: 2 }, m)).toHaveLength(2);
  });
});
