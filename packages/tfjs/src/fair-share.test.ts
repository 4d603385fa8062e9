import { describe, expect, it } from 'vitest';
import { slotsToPark, stepShape } from './fair-share.js';

const slot = (name: string, stepsDone: number, batchSize = 4, rank = 8) => ({ name, stepsDone, config: { batchSize, rank } });

describe('fair share among started trials', () => {
  const resident = [slot('a', 10), slot('b', 14), slot('c', 11), slot('d', 12)];

  it('parks the most advanced adapters first, only those far enough ahead, as few as make room', () => {
    // Room for the newcomer once two adapters leave.
    const park = slotsToPark(resident, 10, 2, (staying) => staying.length <= 2);
    expect(park?.map((s) => s.name)).toEqual(['b', 'd']);
    // One is enough.
    expect(slotsToPark(resident, 10, 2, (staying) => staying.length <= 3)?.map((s) => s.name)).toEqual(['b']);
  });

  it('never parks an adapter less than `lead` steps ahead, and says so when that leaves no room', () => {
    // Only b (14) and d (12) are 2 ahead of 10; c (11) and a (10) are not, so three leaving is impossible.
    const asked: string[][] = [];
    const park = slotsToPark(resident, 10, 2, (staying, parked) => {
      asked.push(parked.map((s) => s.name));
      return staying.length <= 1;
    });
    expect(park).toBeNull();
    expect(asked).toEqual([['b'], ['b', 'd']]);
    expect(slotsToPark(resident, 13, 2, () => true)).toBeNull();
  });

  it('adds up what stays as the capacity model takes it', () => {
    expect(stepShape([slot('a', 0, 8, 16), slot('b', 0, 2, 64)])).toEqual({ rows: 10, rankSum: 80, adapters: 2 });
    expect(stepShape([])).toEqual({ rows: 0, rankSum: 0, adapters: 0 });
  });
});
