import { deviceFreeTimes, listSchedule, makespanLowerBound } from './list-schedule.js';
import type { Plan, PlacementInput } from './types.js';

/**
 * Branch and bound over list orders, under a time limit: each task starts on the `size`
 * devices that free up first. Placing the tasks of an optimal schedule in order of their
 * starts this way never starts one later (the sorted free times stay componentwise no
 * later), so with time enough the search is exact. Pruned by the best makespan so far, by
 * the area still to place, and across identical tasks. Returns the best plan found (or the
 * given one) and whether the search finished (then that plan is optimal).
 */
export function searchListOrders(input: PlacementInput, incumbent: Plan, timeLimitMs: number): { plan: Plan; complete: boolean } {
  // The search treats the devices as one pool; with several machines it is not exact.
  if (!(timeLimitMs > 0) || new Set(Object.values(input.groups ?? {})).size > 1) return { plan: incumbent, complete: false };
  const t0 = performance.now();
  const q = input.queued;
  const n = q.length;
  const m = input.devices.length;
  const startFree = [...deviceFreeTimes(input).values()].sort((a, b) => a - b);
  const runningEnd = Math.max(0, ...input.running.map((r) => r.remaining));
  let best = incumbent.makespan;
  let bestOrder: number[] | null = null;
  const order: number[] = [];
  const used = new Array<boolean>(n).fill(false);
  let complete = true;
  let nodes = 0;
  const dfs = (free: number[], span: number, left: number): void => {
    if ((++nodes & 1023) === 0 && performance.now() - t0 > timeLimitMs) {
      complete = false;
      return;
    }
    if (!complete) return;
    if (order.length === n) {
      if (span < best - 1e-9) {
        best = span;
        bestOrder = order.slice();
      }
      return;
    }
    let total = 0;
    for (const f of free) total += f;
    if ((total + left) / m >= best - 1e-9) return;
    const seen = new Set<string>();
    for (let j = 0; j < n; j++) {
      if (used[j]) continue;
      const key = `${q[j].size}:${q[j].duration}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const end = free[q[j].size - 1] + q[j].duration;
      if (end >= best - 1e-9) continue;
      const next = free.slice();
      for (let k = 0; k < q[j].size; k++) next[k] = end;
      next.sort((a, b) => a - b);
      used[j] = true;
      order.push(j);
      dfs(next, Math.max(span, end), left - q[j].size * q[j].duration);
      order.pop();
      used[j] = false;
    }
  };
  const area = q.reduce((s, t) => s + t.size * t.duration, 0);
  if (n > 0 && incumbent.makespan > makespanLowerBound(input) + 1e-9) dfs(startFree, runningEnd, area);
  if (!bestOrder) return { plan: incumbent, complete };
  const plan = listSchedule(input, bestOrder, 'list (branch and bound)');
  return { plan: plan.makespan < incumbent.makespan ? plan : incumbent, complete };
}
