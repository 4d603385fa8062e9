// The exact optimum of P|size_j|C_max for small instances (no device busy at the start), to
// judge plans against what any schedule can reach, not only against the lower bound.
//
// Depth-first over list orders: a task starts on the `size` devices that free up first.
// Placing the tasks of an optimal schedule in order of their starts this way never starts one
// later (the sorted free times stay componentwise no later), so the search is exact. Pruned
// by the best makespan found so far, by the area still to place, and across identical tasks.
export function exactMakespan(queued, devices, upperBound = Infinity) {
  const n = queued.length;
  const m = devices;
  const area = queued.reduce((s, t) => s + t.size * t.duration, 0);
  let best = upperBound * (1 + 1e-12);
  const used = new Array(n).fill(false);
  let nodes = 0;
  const dfs = (free, depth, span, left) => {
    nodes++;
    if (depth === n) {
      best = Math.min(best, span);
      return;
    }
    const total = free.reduce((s, f) => s + f, 0);
    if ((total + left) / m >= best - 1e-9) return;
    const seen = new Set();
    for (let j = 0; j < n; j++) {
      if (used[j]) continue;
      const key = `${queued[j].size}:${queued[j].duration}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const end = free[queued[j].size - 1] + queued[j].duration;
      if (end >= best - 1e-9) continue;
      const next = free.slice();
      for (let k = 0; k < queued[j].size; k++) next[k] = end;
      next.sort((a, b) => a - b);
      used[j] = true;
      dfs(next, depth + 1, Math.max(span, end), left - queued[j].size * queued[j].duration);
      used[j] = false;
    }
  };
  dfs(new Array(m).fill(0), 0, 0, area);
  return { makespan: best, nodes };
}
