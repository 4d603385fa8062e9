import * as highsModule from 'highs';
import { searchListOrders } from './exact.js';
import { bestListSchedule, deviceFreeTimes, makespanLowerBound } from './list-schedule.js';
import type { Plan, PlacementInput, PlannedTask } from './types.js';

/** The part of highs-js used here (its declarations are CommonJS-shaped for an ES import). */
interface Model {
  options: { set(values: Record<string, string | number | boolean>): unknown };
  setSolution(solution: { indices: number[]; values: number[] }): unknown;
  run(): { modelStatus: number };
  getSolution(): { colValue: Float64Array };
  getColByName(name: string): number;
  info: { get(name: string): number | bigint };
  dispose(): void;
}
interface Solver {
  createModel(source: { format: 'lp'; data: string }): Model;
}
const MODEL_STATUS_OPTIMAL = 7;
const SOLUTION_FEASIBLE = 2;
const loadHighs = (highsModule as unknown as { default: () => Promise<Solver> }).default;
let solver: Promise<Solver> | undefined;
/** HiGHS (WebAssembly), loaded once. */
const highs = () => (solver ??= loadHighs());

export interface MilpOptions {
  /** Wall-clock limit of the solve, seconds. */
  timeLimit?: number;
  /** Largest model solved exactly: pairs of tasks × devices (the overlap constraints). */
  maxPairDeviceRows?: number;
  /** Milliseconds of list-schedule search before the MILP (its starting point). */
  searchMs?: number;
  /** Milliseconds of branch and bound over list orders after that search. */
  branchAndBoundMs?: number;
}

/**
 * P|size_j|C_max as a mixed-integer program, started from (and bounded by) the best list
 * schedule found by local search and a time-limited branch and bound over list orders (when
 * that search completes, its plan is optimal and is returned without the MILP):
 *
 *   minimise C
 *   x[j,d] ∈ {0,1}   task j runs on device d          Σ_d x[j,d] = size_j
 *   S[j] ≥ 0         start of task j                   S[j] ≥ free_d · x[j,d]   (busy devices)
 *   C ≥ S[j] + p_j,  C ≤ C_list
 *   o[j,k] ≥ x[j,d] + x[k,d] − 1                       j and k share a device
 *   y[j,k] ∈ {0,1}   order of j and k when they share one:
 *     S[k] ≥ S[j] + p_j − M(1 − y) − M(1 − o),   S[j] ≥ S[k] + p_k − M·y − M(1 − o)
 *   x[j,d] ≤ Σ_{k ≤ j} x[k,d−1]  for devices free at the same time (symmetry)
 *
 * with M = C_list. Solved under a time limit; the list schedule is kept whenever the solver
 * does not return a better feasible plan, and stands alone when the model is too large to
 * solve in time.
 */
export async function milpPlacement(input: PlacementInput, options: MilpOptions = {}): Promise<Plan> {
  const t0 = performance.now();
  // Starting point: the best list schedule, improved by branch and bound over list orders
  // (which, when it finishes in time, proves the plan optimal and the MILP is not needed).
  const searched = searchListOrders(input, bestListSchedule(input, options.searchMs), options.branchAndBoundMs ?? 300);
  const list = searched.plan;
  const lb = makespanLowerBound(input);
  const n = input.queued.length;
  const m = input.devices.length;
  const done = (plan: Plan) => ({ ...plan, solveMs: performance.now() - t0 });
  if (n <= 1 || list.makespan <= lb + 1e-9 || searched.complete) return done({ ...list, optimal: true });
  if ((n * (n - 1) / 2) * m > (options.maxPairDeviceRows ?? 20_000)) return done({ ...list, method: `${list.method}; model too large for the MILP` });

  const free = deviceFreeTimes(input);
  const dev = input.devices;
  const p = input.queued.map((t) => t.duration);
  const M = list.makespan;
  const lines: string[] = ['Minimize', ' obj: C', 'Subject To'];
  let row = 0;
  const c = (expr: string) => lines.push(` r${row++}: ${expr}`);
  const x = (j: number, d: number) => `x_${j}_${d}`;
  for (let j = 0; j < n; j++) {
    c(`${dev.map((_, d) => x(j, d)).join(' + ')} = ${input.queued[j].size}`);
    c(`C - S_${j} >= ${p[j]}`);
    dev.forEach((name, d) => {
      const f = free.get(name)!;
      if (f > 0) c(`S_${j} - ${f} ${x(j, d)} >= 0`);
    });
  }
  // Devices free at the same time are interchangeable: label them in order of first use, so
  // that device d serves task j only if device d − 1 serves j or an earlier task.
  const group = (d: number) => input.groups?.[dev[d]] ?? '';
  for (let d = 1; d < m; d++) {
    if (free.get(dev[d]) !== free.get(dev[d - 1]) || group(d) !== group(d - 1)) continue;
    for (let j = 0; j < n; j++) {
      const earlier = Array.from({ length: j + 1 }, (_, k) => ` - ${x(k, d - 1)}`).join('');
      c(`${x(j, d)}${earlier} <= 0`);
    }
  }
  // several machines: z[j,g] picks the one machine of task j, and x only on its devices
  const machines = [...new Set(dev.map((_, d) => group(d)))];
  const z = (j: number, g: number) => `z_${j}_${g}`;
  if (machines.length > 1) {
    for (let j = 0; j < n; j++) {
      c(`${machines.map((_, g) => z(j, g)).join(' + ')} = 1`);
      dev.forEach((_, d) => c(`${x(j, d)} - ${z(j, machines.indexOf(group(d)))} <= 0`));
    }
  }
  for (let j = 0; j < n; j++) {
    for (let k = j + 1; k < n; k++) {
      for (let d = 0; d < m; d++) c(`o_${j}_${k} - ${x(j, d)} - ${x(k, d)} >= -1`);
      c(`S_${k} - S_${j} - ${M} y_${j}_${k} - ${M} o_${j}_${k} >= ${p[j] - 2 * M}`);
      c(`S_${j} - S_${k} + ${M} y_${j}_${k} - ${M} o_${j}_${k} >= ${p[k] - M}`);
    }
  }
  lines.push('Bounds', ` ${lb} <= C <= ${M}`);
  for (let j = 0; j < n; j++) lines.push(` 0 <= S_${j} <= ${M}`);
  for (let j = 0; j < n; j++) for (let k = j + 1; k < n; k++) lines.push(` 0 <= o_${j}_${k} <= 1`);
  lines.push('Binary');
  for (let j = 0; j < n; j++) lines.push(` ${dev.map((_, d) => x(j, d)).join(' ')}`);
  for (let j = 0; j < n; j++) for (let k = j + 1; k < n; k++) lines.push(` y_${j}_${k}`);
  if (machines.length > 1) for (let j = 0; j < n; j++) lines.push(` ${machines.map((_, g) => z(j, g)).join(' ')}`);
  lines.push('End');

  // The list schedule is the solver's starting point (its devices relabelled in order of
  // first use, as the symmetry rows require).
  const names = ['C', ...input.queued.flatMap((_, j) => [`S_${j}`, ...dev.map((__, d) => x(j, d))])];
  const model = (await highs()).createModel({ format: 'lp', data: lines.join('\n') });
  const value = new Map<string, number>();
  let optimal = false;
  let feasible = false;
  let bound = lb;
  try {
    model.options.set({ output_flag: false, time_limit: options.timeLimit ?? 0.8, mip_rel_gap: 1e-6 });
    const indices: number[] = [];
    const values: number[] = [];
    for (const [name, v] of startingPoint(input, list, free, x, machines.length > 1 ? machines : null)) {
      indices.push(model.getColByName(name));
      values.push(v);
    }
    model.setSolution({ indices, values });
    optimal = model.run().modelStatus === MODEL_STATUS_OPTIMAL;
    feasible = Number(model.info.get('primal_solution_status')) === SOLUTION_FEASIBLE;
    bound = Math.max(lb, Number(model.info.get('mip_dual_bound')) || lb);
    if (feasible) {
      const colValue = model.getSolution().colValue;
      for (const name of names) value.set(name, colValue[model.getColByName(name)]);
    }
  } finally {
    model.dispose();
  }
  const v = (name: string) => value.get(name) ?? NaN;
  // Only an assignment with every x integral and every task's width counts.
  const integral = feasible && input.queued.every((t, j) => {
    let used = 0;
    for (let d = 0; d < m; d++) {
      const a = v(x(j, d));
      if (!(Math.abs(a - Math.round(a)) < 1e-4)) return false;
      used += Math.round(a);
    }
    return used === t.size;
  });
  const proven = { optimal: optimal || list.makespan <= bound + 1e-6, lowerBound: lb, provenBound: bound };
  if (!integral || !(v('C') < list.makespan - 1e-6)) {
    return done({ ...list, ...proven, method: `${list.method}; MILP found nothing better${optimal ? ' (optimal)' : ''}` });
  }
  // The solver's times carry its tolerances (big-M rows are only as exact as M × 1e-6), so
  // keep its decisions — the devices of each task and the order of the starts — and retime
  // them exactly: each task starts when its devices are free (never later than the solver had it).
  const order = input.queued.map((_, j) => j).sort((a, b) => v(`S_${a}`) - v(`S_${b}`));
  const freeAt = new Map(free);
  const tasks: PlannedTask[] = new Array(n);
  for (const j of order) {
    const t = input.queued[j];
    const chosen = dev.filter((_, d) => v(x(j, d)) > 0.5);
    const begin = Math.max(0, ...chosen.map((d) => freeAt.get(d)!));
    for (const d of chosen) freeAt.set(d, begin + t.duration);
    tasks[j] = { id: t.id, devices: chosen, start: begin, end: begin + t.duration };
  }
  const plan: Plan = {
    tasks,
    makespan: Math.max(0, ...input.running.map((r) => r.remaining), ...tasks.map((t) => t.end)),
    lowerBound: lb,
    provenBound: bound,
    method: 'milp',
    optimal,
    solveMs: 0,
  };
  if (!isFeasible(input, plan)) return done({ ...list, ...proven, method: `${list.method}; MILP plan failed the feasibility check` });
  return done(plan.makespan < list.makespan - 1e-9 ? plan : { ...list, ...proven, method: `${list.method}; MILP found nothing better` });
}

/**
 * The list plan as a MIP start: C, S, x (devices relabelled within each run of
 * interchangeable devices in order of first use by task index), o and y.
 */
function startingPoint(
  input: PlacementInput,
  list: Plan,
  free: Map<string, number>,
  x: (j: number, d: number) => string,
  machines: string[] | null,
): [string, number][] {
  const dev = input.devices;
  const n = input.queued.length;
  const planned = input.queued.map((t) => list.tasks.find((p) => p.id === t.id)!);
  // runs of adjacent devices with the same free time are interchangeable
  const run = dev.map((_, d) => d);
  const group = (d: number) => input.groups?.[dev[d]] ?? '';
  for (let d = 1; d < dev.length; d++) if (free.get(dev[d]) === free.get(dev[d - 1]) && group(d) === group(d - 1)) run[d] = run[d - 1];
  const relabel = new Map<string, number>();
  const nextInRun = new Map<number, number>();
  for (let j = 0; j < n; j++) {
    for (const name of planned[j].devices.slice().sort((a, b) => dev.indexOf(a) - dev.indexOf(b))) {
      if (relabel.has(name)) continue;
      const r = run[dev.indexOf(name)];
      const k = nextInRun.get(r) ?? r;
      relabel.set(name, k);
      nextInRun.set(r, k + 1);
    }
  }
  for (const name of dev) if (!relabel.has(name)) {
    const r = run[dev.indexOf(name)];
    const k = nextInRun.get(r) ?? r;
    relabel.set(name, k);
    nextInRun.set(r, k + 1);
  }
  const uses = planned.map((p) => new Set(p.devices.map((name) => relabel.get(name)!)));
  const out: [string, number][] = [['C', list.makespan]];
  for (let j = 0; j < n; j++) {
    out.push([`S_${j}`, planned[j].start]);
    for (let d = 0; d < dev.length; d++) out.push([x(j, d), uses[j].has(d) ? 1 : 0]);
    if (machines) {
      const g = input.groups?.[planned[j].devices[0]] ?? '';
      machines.forEach((name, k) => out.push([`z_${j}_${k}`, name === g ? 1 : 0]));
    }
  }
  for (let j = 0; j < n; j++) {
    for (let k = j + 1; k < n; k++) {
      const share = [...uses[j]].some((d) => uses[k].has(d));
      out.push([`o_${j}_${k}`, share ? 1 : 0], [`y_${j}_${k}`, planned[j].start <= planned[k].start ? 1 : 0]);
    }
  }
  return out;
}

/** Every task on `size` distinct existing devices, none overlapping another on a device or a running task. */
export function isFeasible(input: PlacementInput, plan: Plan, eps = 1e-6): boolean {
  const free = deviceFreeTimes(input);
  const byDevice = new Map<string, [number, number][]>();
  for (const t of plan.tasks) {
    const q = input.queued.find((x) => x.id === t.id);
    if (!q || new Set(t.devices).size !== q.size || t.devices.length !== q.size) return false;
    if (input.groups && new Set(t.devices.map((d) => input.groups![d])).size > 1) return false;
    for (const d of t.devices) {
      if (!free.has(d) || t.start < free.get(d)! - eps) return false;
      (byDevice.get(d) ?? byDevice.set(d, []).get(d)!).push([t.start, t.end]);
    }
  }
  for (const spans of byDevice.values()) {
    spans.sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < spans.length; i++) if (spans[i][0] < spans[i - 1][1] - eps) return false;
  }
  return plan.tasks.length === input.queued.length;
}
