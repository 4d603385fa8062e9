import { AdapterConfig, AdapterConfigInput, resolveAdapterConfig } from './adapter-config.js';
import { ConfigError, IssueCollector } from './errors.js';
import { Rng } from './random.js';

/** A dimension of the search: a list of values, or a distribution for random search. */
export type Dimension<T = number> =
  | readonly T[]
  | { logUniform: readonly [number, number] }
  | { uniform: readonly [number, number] };

export interface SearchSpace {
  learningRate?: Dimension;
  rank?: Dimension;
  /** A list of values, or "2r"-style multiples of the rank ("1r", "2r", "0.5r"). */
  alpha?: Dimension<number | string> | string;
  batchSize?: Dimension;
  dropout?: Dimension;
  weightDecay?: Dimension;
  seed?: Dimension;
}

export type SearchStrategy = { type: 'grid' } | { type: 'random'; samples: number; seed?: number };

export interface TrialSpec {
  /** Stable, zero-padded id within its task: t00, t01, … */
  id: string;
  config: AdapterConfig;
}

const DIMENSIONS = ['learningRate', 'rank', 'alpha', 'batchSize', 'dropout', 'weightDecay', 'seed'] as const;
type DimName = (typeof DIMENSIONS)[number];
const INTEGER_DIMS = new Set<DimName>(['rank', 'batchSize', 'seed']);

/**
 * Expands a search space into trials. Grid search takes the cartesian product of the listed
 * values; random search draws `samples` distinct configurations with a seeded generator
 * (log-uniform for learning rates when asked). Fields not searched come from `base`.
 * Identical configurations (after α is resolved against the rank) appear once.
 */
export function expandSearchSpace(
  space: SearchSpace,
  base: AdapterConfigInput,
  strategy: SearchStrategy = { type: 'grid' },
  path = 'searchSpace',
): TrialSpec[] {
  const issues = new IssueCollector();
  for (const key of Object.keys(space)) {
    if (!(DIMENSIONS as readonly string[]).includes(key)) issues.add(`${path}.${key}`, `is not a searchable field (${DIMENSIONS.join(', ')})`);
  }
  const dims = DIMENSIONS.filter((d) => space[d] !== undefined);
  for (const d of dims) checkDimension(d, normalise(d, space[d]!), `${path}.${d}`, strategy, issues);
  if (strategy.type === 'random' && (!Number.isInteger(strategy.samples) || strategy.samples <= 0)) {
    issues.add('strategy.samples', `must be a positive integer, got ${String(strategy.samples)}`);
  }
  issues.throwIfAny('search space');

  const points: Record<string, number | string>[] =
    strategy.type === 'grid' ? gridPoints(space, dims) : randomPoints(space, dims, strategy);
  const seen = new Set<string>();
  const trials: TrialSpec[] = [];
  const errors = new IssueCollector();
  for (const point of points) {
    const input: AdapterConfigInput = { ...base };
    for (const [k, v] of Object.entries(point)) {
      if (k !== 'alpha') (input as Record<string, unknown>)[k] = v;
    }
    const rank = (input.rank ?? base.rank) as number;
    if (point.alpha !== undefined) input.alpha = resolveAlpha(point.alpha, rank);
    let config: AdapterConfig;
    try {
      config = resolveAdapterConfig(input, path);
    } catch (e) {
      if (e instanceof ConfigError) e.issues.forEach((i) => errors.add(i.field, i.reason));
      else throw e;
      continue;
    }
    const key = canonicalKey(config);
    if (seen.has(key)) continue;
    seen.add(key);
    trials.push({ id: '', config });
  }
  errors.throwIfAny('search space');
  const width = Math.max(2, String(trials.length - 1).length);
  trials.forEach((t, i) => (t.id = `t${String(i).padStart(width, '0')}`));
  return trials;
}

function normalise(d: DimName, v: SearchSpace[DimName]): Dimension<number | string> {
  if (d === 'alpha' && typeof v === 'string') return [v];
  return v as Dimension<number | string>;
}

function checkDimension(d: DimName, dim: Dimension<number | string>, field: string, strategy: SearchStrategy, issues: IssueCollector): void {
  if (Array.isArray(dim)) {
    if (dim.length === 0) issues.add(field, 'must list at least one value');
    dim.forEach((v, i) => {
      if (d === 'alpha' && typeof v === 'string') {
        if (!/^\d+(\.\d+)?r$/.test(v)) issues.add(`${field}[${i}]`, `must be a number or a multiple of the rank like "2r", got "${v}"`);
      } else if (typeof v !== 'number' || !Number.isFinite(v)) issues.add(`${field}[${i}]`, `must be a finite number, got ${String(v)}`);
      else if (INTEGER_DIMS.has(d) && !Number.isInteger(v)) issues.add(`${field}[${i}]`, `must be an integer, got ${v}`);
    });
    return;
  }
  const range = 'logUniform' in (dim as object) ? (dim as { logUniform: [number, number] }).logUniform : (dim as { uniform?: [number, number] }).uniform;
  if (!range) {
    issues.add(field, 'must be a list of values, { logUniform: [lo, hi] } or { uniform: [lo, hi] }');
    return;
  }
  if (strategy.type === 'grid') issues.add(field, 'a distribution needs random search; grid search takes a list of values');
  if (INTEGER_DIMS.has(d) || d === 'alpha') issues.add(field, 'must be a list of values');
  const [lo, hi] = range;
  if (!Number.isFinite(lo) || !Number.isFinite(hi) || !(lo < hi)) issues.add(field, `needs finite bounds lo < hi, got [${lo}, ${hi}]`);
  if ('logUniform' in (dim as object) && !(lo > 0)) issues.add(field, 'log-uniform bounds must be positive');
}

function gridPoints(space: SearchSpace, dims: DimName[]): Record<string, number | string>[] {
  let points: Record<string, number | string>[] = [{}];
  for (const d of dims) {
    const values = normalise(d, space[d]!) as readonly (number | string)[];
    points = points.flatMap((p) => values.map((v) => ({ ...p, [d]: v })));
  }
  return points;
}

function randomPoints(space: SearchSpace, dims: DimName[], strategy: { samples: number; seed?: number }): Record<string, number | string>[] {
  const rng = new Rng(strategy.seed ?? 0);
  const points: Record<string, number | string>[] = [];
  const keys = new Set<string>();
  // Finite lists may hold fewer distinct points than asked for: stop after enough misses.
  let misses = 0;
  while (points.length < strategy.samples && misses < 1000) {
    const p: Record<string, number | string> = {};
    for (const d of dims) {
      const dim = normalise(d, space[d]!);
      if (Array.isArray(dim)) p[d] = dim[rng.int(dim.length)];
      else if ('logUniform' in dim) p[d] = Math.exp(rng.uniform(Math.log(dim.logUniform[0]), Math.log(dim.logUniform[1])));
      else p[d] = rng.uniform((dim as { uniform: [number, number] }).uniform[0], (dim as { uniform: [number, number] }).uniform[1]);
    }
    const key = JSON.stringify(p);
    if (keys.has(key)) misses++;
    else {
      keys.add(key);
      points.push(p);
      misses = 0;
    }
  }
  return points;
}

function resolveAlpha(alpha: number | string, rank: number): number {
  if (typeof alpha === 'number') return alpha;
  return Number(alpha.slice(0, -1)) * rank;
}

function canonicalKey(c: AdapterConfig): string {
  return JSON.stringify({ ...c, targets: c.targets.map(String) });
}
