import { describe, expect, it } from 'vitest';
import { Rng } from '@alto/core';
import { bestListSchedule, isFeasible, listSchedule, lptOrder, makespanLowerBound, milpPlacement, PlacementError, searchListOrders, type PlacementInput } from '@alto/scheduler';

const devices = (n: number) => Array.from({ length: n }, (_, i) => `gpu${i}`);

function randomInstance(seed: number, tasks: number, m: number): PlacementInput {
  const rng = new Rng(seed);
  return {
    devices: devices(m),
    running: [],
    queued: Array.from({ length: tasks }, (_, i) => ({
      id: `t${i}`,
      size: [1, 1, 2, 4][Math.floor(rng.uniform(0, 4))],
      duration: Math.round(10 * Math.exp(rng.uniform(0, Math.log(10)))),
    })),
  };
}

describe('placement', () => {
  it('list schedules are feasible and never beat the lower bound', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const input = randomInstance(seed, 12, 8);
      const plan = bestListSchedule(input, 5);
      expect(isFeasible(input, plan)).toBe(true);
      expect(plan.makespan).toBeGreaterThanOrEqual(plan.lowerBound - 1e-9);
    }
  });

  it('the MILP finds the optimum where longest-first is off (3,3,2,2,2 on two devices: 6, not 7)', async () => {
    const input: PlacementInput = {
      devices: devices(2),
      running: [],
      queued: [3, 3, 2, 2, 2].map((duration, i) => ({ id: `t${i}`, size: 1, duration })),
    };
    expect(listSchedule(input, lptOrder(input)).makespan).toBe(7);
    const plan = await milpPlacement(input, { timeLimit: 5, searchMs: 0, branchAndBoundMs: 0 });
    expect(plan.method).toBe('milp');
    expect(plan.makespan).toBeCloseTo(6, 6);
    expect(plan.optimal).toBe(true);
    expect(isFeasible(input, plan)).toBe(true);
  });

  it('branch and bound over list orders finds that optimum too, and proves it', () => {
    const input: PlacementInput = {
      devices: devices(2),
      running: [],
      queued: [3, 3, 2, 2, 2].map((duration, i) => ({ id: `t${i}`, size: 1, duration })),
    };
    const { plan, complete } = searchListOrders(input, listSchedule(input, lptOrder(input)), 1000);
    expect(complete).toBe(true);
    expect(plan.makespan).toBe(6);
    expect(isFeasible(input, plan)).toBe(true);
  });

  it('keeps running tasks where they are and starts nothing on a device before it frees up', async () => {
    const input: PlacementInput = {
      devices: devices(4),
      running: [{ id: 'r', devices: ['gpu0', 'gpu1'], remaining: 5 }],
      queued: [
        { id: 'wide', size: 4, duration: 3 },
        { id: 'a', size: 2, duration: 4 },
        { id: 'b', size: 1, duration: 2 },
      ],
    };
    for (const plan of [bestListSchedule(input, 20), await milpPlacement(input, { timeLimit: 5, searchMs: 20 })]) {
      expect(isFeasible(input, plan)).toBe(true);
      const wide = plan.tasks.find((t) => t.id === 'wide')!;
      expect(wide.start).toBeGreaterThanOrEqual(5);
      expect(plan.makespan).toBeGreaterThanOrEqual(makespanLowerBound(input) - 1e-9);
    }
  });

  it('MILP plans are feasible and no worse than the list schedule on random small instances', async () => {
    for (let seed = 1; seed <= 5; seed++) {
      const input = randomInstance(100 + seed, 8, 4);
      const list = bestListSchedule(input, 20);
      const plan = await milpPlacement(input, { timeLimit: 1, searchMs: 20 });
      expect(isFeasible(input, plan)).toBe(true);
      expect(plan.makespan).toBeLessThanOrEqual(list.makespan + 1e-9);
    }
  });

  it('keeps each task on one machine, in the list schedule and in the MILP', async () => {
    // two machines of two devices; a 2-device task must not straddle them
    const input: PlacementInput = {
      devices: ['a/0', 'a/1', 'b/0', 'b/1'],
      groups: { 'a/0': 'a', 'a/1': 'a', 'b/0': 'b', 'b/1': 'b' },
      running: [{ id: 'r', devices: ['a/0'], remaining: 5 }],
      queued: [
        { id: 'pair', size: 2, duration: 4 },
        { id: 'one', size: 1, duration: 3 },
        { id: 'pair2', size: 2, duration: 2 },
      ],
    };
    for (const plan of [bestListSchedule(input, 20), await milpPlacement(input, { timeLimit: 5, searchMs: 0 })]) {
      expect(isFeasible(input, plan)).toBe(true);
      for (const t of plan.tasks) expect(new Set(t.devices.map((d) => d[0])).size).toBe(1);
    }
    const pool = { ...input, groups: undefined };
    // without machines the pair could start at once on a/1 + b/0; with them it may not
    expect(listSchedule(pool, [0, 1, 2]).tasks[0].start).toBe(0);
    expect(isFeasible(input, listSchedule(pool, [0, 1, 2]))).toBe(false);
    expect(() => bestListSchedule({ ...input, queued: [{ id: 'wide', size: 3, duration: 1 }] })).toThrow(/wide needs 3 devices on one machine; the largest has 2/);
  });

  it('rejects a task wider than the cluster, naming it', () => {
    const input: PlacementInput = { devices: devices(2), running: [], queued: [{ id: 'huge', size: 3, duration: 1 }] };
    expect(() => bestListSchedule(input)).toThrow(PlacementError);
    expect(() => bestListSchedule(input)).toThrow(/huge needs 3 devices; 2 exist/);
  });
});
