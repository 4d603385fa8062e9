// Placement quality and solve time of the scheduler's default policy (MILP started from the
// best list schedule) against the list schedule alone and the lower bound
// max(total device-time ÷ devices, longest task), for 11, 50 and 200 tasks on 8, 64 and 512
// devices. Task mixes like ALTO's cluster experiments: 1-, 2- and 4-device tasks, durations
// spread over an order of magnitude. Several seeds per size. Writes result.json/result.md.
//   node bench/scheduler/run.mjs
import { writeFileSync } from 'node:fs';
import { Rng } from '@alto/core';
import { bestListSchedule, isFeasible, milpPlacement, searchListOrders } from '@alto/scheduler';
import { runInfo } from '../env.mjs';

const SIZES = [
  { tasks: 11, devices: 8 },
  { tasks: 50, devices: 64 },
  { tasks: 200, devices: 512 },
];
const SEEDS = [1, 2, 3, 4, 5];

function instance(seed, tasks, devices) {
  const rng = new Rng(seed * 7919 + tasks);
  // sizes: half single-device, a third 2-device, the rest 4-device; durations 10–100 minutes
  const size = () => { const u = rng.uniform(0, 1); return u < 0.5 ? 1 : u < 0.83 ? 2 : 4; };
  return {
    devices: Array.from({ length: devices }, (_, i) => `gpu${i}`),
    running: [],
    queued: Array.from({ length: tasks }, (_, i) => ({ id: `t${i}`, size: size(), duration: 600 * Math.exp(rng.uniform(0, Math.log(10))) })),
  };
}

const rows = [];
for (const { tasks, devices } of SIZES) {
  for (const seed of SEEDS) {
    const input = instance(seed, tasks, devices);
    const list = bestListSchedule(input);
    const plan = await milpPlacement(input, { timeLimit: 0.8 });
    if (!isFeasible(input, plan)) throw new Error(`infeasible plan for ${tasks}/${devices} seed ${seed}`);
    // For the small instances, the true optimum: branch and bound over list orders run to the
    // end (exact: placing an optimal schedule's tasks in start order never starts one later).
    const exact = tasks <= 12 ? searchListOrders(input, plan, 10 * 60_000) : null;
    const optimum = exact?.complete ? exact.plan.makespan : null;
    rows.push({
      tasks, devices, seed,
      lower_bound_s: plan.lowerBound,
      list_makespan_s: list.makespan,
      plan_makespan_s: plan.makespan,
      plan_over_bound: plan.makespan / plan.lowerBound,
      proven_bound_over_bound: (plan.provenBound ?? plan.lowerBound) / plan.lowerBound,
      optimum_over_bound: optimum === null ? null : Math.min(optimum, plan.makespan) / plan.lowerBound,
      plan_over_optimum: optimum === null ? null : plan.makespan / Math.min(optimum, plan.makespan),
      list_over_bound: list.makespan / plan.lowerBound,
      method: plan.method,
      optimal: plan.optimal,
      solve_ms: plan.solveMs,
    });
  }
}
const summary = SIZES.map(({ tasks, devices }) => {
  const r = rows.filter((x) => x.tasks === tasks && x.devices === devices);
  const max = (k) => Math.max(...r.map((x) => x[k]));
  const mean = (k) => r.reduce((s, x) => s + x[k], 0) / r.length;
  return {
    tasks, devices,
    plan_over_bound_mean: mean('plan_over_bound'), plan_over_bound_max: max('plan_over_bound'),
    list_over_bound_mean: mean('list_over_bound'), list_over_bound_max: max('list_over_bound'),
    solve_ms_max: max('solve_ms'),
    optimum_over_bound_max: r[0].optimum_over_bound === null ? null : max('optimum_over_bound'),
    plan_over_optimum_max: r[0].plan_over_optimum === null ? null : max('plan_over_optimum'),
    within_5pct_of_bound: r.every((x) => x.plan_over_bound <= 1.05),
  };
});
const result = { ...runInfo(), what: 'makespan of the default placement vs the lower bound and the list schedule; solve time', summary, rows };
writeFileSync(new URL('./result.json', import.meta.url), JSON.stringify(result, null, 2) + '\n');
const md = [
  `# bench/scheduler — ${result.date}`,
  '',
  `Device: ${result.device}; Node ${result.node}; commit ${result.commit}. ${SEEDS.length} seeded instances per size.`,
  '',
  '| tasks | devices | plan ÷ bound (mean, max) | list ÷ bound (mean, max) | optimum ÷ bound (max) | plan ÷ optimum (max) | solve ms (max) | ≤ 5% over the bound |',
  '|---|---|---|---|---|---|---|---|',
  ...summary.map((s) => `| ${s.tasks} | ${s.devices} | ${s.plan_over_bound_mean.toFixed(3)}, ${s.plan_over_bound_max.toFixed(3)} | ${s.list_over_bound_mean.toFixed(3)}, ${s.list_over_bound_max.toFixed(3)} | ${s.optimum_over_bound_max?.toFixed(4) ?? '–'} | ${s.plan_over_optimum_max?.toFixed(4) ?? '–'} | ${s.solve_ms_max.toFixed(0)} | ${s.within_5pct_of_bound ? 'yes' : 'no'} |`),
  '',
  'optimum: the best makespan of any schedule, by branch and bound over list orders run to the end (searchListOrders without a time limit), for the 11-task instances.',
  '',
];
writeFileSync(new URL('./result.md', import.meta.url), md.join('\n'));
console.log(md.join('\n'));
console.table(rows.map((r) => ({ tasks: r.tasks, devices: r.devices, seed: r.seed, plan: r.plan_over_bound.toFixed(4), list: r.list_over_bound.toFixed(4), optimum: r.optimum_over_bound?.toFixed(4) ?? '–', method: r.method, ms: r.solve_ms.toFixed(0) })));
