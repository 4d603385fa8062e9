import { PlacementError, type Plan, type PlacementInput, type PlannedTask } from './types.js';

/**
 * max(total device-time ÷ devices, longest queued task, longest remaining running task):
 * every plan ends at or after it.
 */
export function makespanLowerBound(input: PlacementInput): number {
  const m = input.devices.length;
  let work = 0;
  let longest = 0;
  for (const r of input.running) {
    work += r.remaining * r.devices.length;
    longest = Math.max(longest, r.remaining);
  }
  for (const t of input.queued) {
    work += t.duration * t.size;
    longest = Math.max(longest, t.duration);
  }
  return m === 0 ? Infinity : Math.max(work / m, longest);
}

/** When each device becomes free, from the running tasks. */
export function deviceFreeTimes(input: PlacementInput): Map<string, number> {
  const free = new Map(input.devices.map((d) => [d, 0]));
  for (const r of input.running) for (const d of r.devices) if (free.has(d)) free.set(d, Math.max(free.get(d)!, r.remaining));
  return free;
}

/** Devices by machine; a single group of every device when the input has no groups. */
export function deviceGroups(input: PlacementInput): string[][] {
  if (!input.groups) return [input.devices.slice()];
  const by = new Map<string, string[]>();
  for (const d of input.devices) {
    const g = input.groups[d] ?? d;
    (by.get(g) ?? by.set(g, []).get(g)!).push(d);
  }
  return [...by.values()];
}

export function checkPlaceable(input: PlacementInput): void {
  const widest = Math.max(0, ...deviceGroups(input).map((g) => g.length));
  for (const t of input.queued) {
    if (!Number.isInteger(t.size) || t.size < 1) throw new PlacementError(`task ${t.id}: size must be a positive integer, got ${t.size}`);
    if (t.size > input.devices.length) throw new PlacementError(`task ${t.id} needs ${t.size} devices; ${input.devices.length} exist`);
    if (t.size > widest) throw new PlacementError(`task ${t.id} needs ${t.size} devices on one machine; the largest has ${widest}`);
    if (!(t.duration >= 0) || !Number.isFinite(t.duration)) throw new PlacementError(`task ${t.id}: duration must be a finite number ≥ 0`);
  }
}

/**
 * List scheduling in a given task order: each task starts as soon as `size` devices are
 * free, on the devices that free up first (ties: the device that was busy latest, so that
 * short gaps are filled). Never moves a running task.
 */
export function listSchedule(input: PlacementInput, order: readonly number[], method = 'list'): Plan {
  const t0 = performance.now();
  checkPlaceable(input);
  const free = deviceFreeTimes(input);
  const groups = deviceGroups(input);
  const tasks: PlannedTask[] = [];
  for (const i of order) {
    const task = input.queued[i];
    // the machine where the task can start first, on its devices that free up first
    let chosen: string[] = [];
    let start = Infinity;
    for (const group of groups) {
      if (group.length < task.size) continue;
      const byFree = group.slice().sort((a, b) => free.get(a)! - free.get(b)! || a.localeCompare(b)).slice(0, task.size);
      const at = Math.max(0, ...byFree.map((d) => free.get(d)!));
      if (at < start) {
        start = at;
        chosen = byFree;
      }
    }
    const end = start + task.duration;
    for (const d of chosen) free.set(d, end);
    tasks.push({ id: task.id, devices: chosen, start, end });
  }
  const runningEnd = Math.max(0, ...input.running.map((r) => r.remaining));
  const makespan = Math.max(runningEnd, ...tasks.map((t) => t.end));
  return { tasks, makespan, lowerBound: makespanLowerBound(input), method, optimal: false, solveMs: performance.now() - t0 };
}

/** Longest processing time first (largest device-time first on ties, then priority). */
export function lptOrder(input: PlacementInput): number[] {
  return input.queued
    .map((t, i) => i)
    .sort((a, b) => {
      const ta = input.queued[a], tb = input.queued[b];
      return tb.duration - ta.duration || tb.size - ta.size || (tb.priority ?? 0) - (ta.priority ?? 0) || ta.id.localeCompare(tb.id);
    });
}

/**
 * The best of a few list schedules: LPT, largest device-time first, widest first, then a
 * seeded search over orders near the best one (swaps of two tasks) for `searchMs`. LPT alone
 * is the classic 2-approximation; the others often pack wide tasks better.
 */
export function bestListSchedule(input: PlacementInput, searchMs = 400): Plan {
  const t0 = performance.now();
  const q = input.queued;
  const orders: [string, number[]][] = [
    ['list (LPT)', lptOrder(input)],
    ['list (area)', q.map((_, i) => i).sort((a, b) => q[b].duration * q[b].size - q[a].duration * q[a].size || q[a].id.localeCompare(q[b].id))],
    ['list (widest)', q.map((_, i) => i).sort((a, b) => q[b].size - q[a].size || q[b].duration - q[a].duration || q[a].id.localeCompare(q[b].id))],
  ];
  let best: Plan | undefined;
  let bestOrder: number[] = [];
  for (const [name, order] of orders) {
    const plan = listSchedule(input, order, name);
    if (!best || plan.makespan < best.makespan - 1e-9) {
      best = plan;
      bestOrder = order;
    }
  }
  // Local search over orders: swap two tasks or move one, keep a change that does not
  // lengthen the makespan (sideways moves let it cross plateaus), until the time is up.
  const n = bestOrder.length;
  let seed = 0x9e3779b9 ^ n;
  const next = () => ((seed = (Math.imul(seed ^ (seed >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0) / 2 ** 32);
  const lb = best!.lowerBound;
  let current = bestOrder;
  let currentSpan = best!.makespan;
  while (n > 1 && best!.makespan > lb + 1e-9 && performance.now() - t0 < searchMs) {
    const i = Math.floor(next() * n), j = Math.floor(next() * n);
    if (i === j) continue;
    const order = current.slice();
    if (next() < 0.5) [order[i], order[j]] = [order[j], order[i]];
    else order.splice(j, 0, ...order.splice(i, 1));
    const plan = listSchedule(input, order, 'list (search)');
    if (plan.makespan <= currentSpan + 1e-9) {
      current = order;
      currentSpan = plan.makespan;
      if (plan.makespan < best!.makespan - 1e-9) {
        best = plan;
        bestOrder = order;
      }
    }
  }
  return { ...best!, solveMs: performance.now() - t0 };
}
