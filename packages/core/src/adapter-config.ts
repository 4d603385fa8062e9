import { IssueCollector } from './errors.js';

export type OptimizerConfig =
  | { type: 'adamw'; beta1?: number; beta2?: number; epsilon?: number }
  | { type: 'sgd'; momentum?: number };

/** A layer selector: an exact name, a glob with `*`, or a regular expression. */
export type TargetPattern = string | RegExp;

/** One LoRA configuration: everything that makes a trial differ from its neighbours. */
export interface AdapterConfig {
  rank: number;
  /** LoRA α; the update is scaled by α / rank. */
  alpha: number;
  learningRate: number;
  /** Rows (examples) this adapter contributes to each step. */
  batchSize: number;
  /** Dropout on the LoRA input, in [0, 1). */
  dropout: number;
  /** Decoupled weight decay (AdamW) or L2 decay (SGD). */
  weightDecay: number;
  /** Layers that receive LoRA; empty means every linear layer of the model. */
  targets: TargetPattern[];
  seed: number;
  optimizer: OptimizerConfig;
  /** Planned optimizer steps; exactly one of steps and epochs is set after resolution. */
  steps?: number;
  epochs?: number;
}

export type AdapterConfigInput = Partial<Omit<AdapterConfig, 'optimizer'>> & {
  optimizer?: OptimizerConfig | 'adamw' | 'sgd';
};

export const DEFAULT_ADAPTER_CONFIG = {
  dropout: 0,
  weightDecay: 0,
  targets: [] as TargetPattern[],
  seed: 0,
  optimizer: { type: 'adamw' } as OptimizerConfig,
};

const isPositiveInt = (v: unknown): v is number => Number.isInteger(v) && (v as number) > 0;
const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

const KNOWN_FIELDS = new Set([
  'rank', 'alpha', 'learningRate', 'batchSize', 'dropout', 'weightDecay', 'targets', 'seed',
  'optimizer', 'steps', 'epochs',
]);

/**
 * Validates and completes an adapter configuration. All problems are reported together,
 * each with the field's path (prefixed by `path`), before any tensor is allocated.
 * `alpha` defaults to 2·rank (ALTO's setting).
 */
export function resolveAdapterConfig(input: AdapterConfigInput, path = ''): AdapterConfig {
  const issues = new IssueCollector();
  const f = (name: string) => (path ? `${path}.${name}` : name);
  if (input === null || typeof input !== 'object') {
    issues.add(path || 'config', 'must be an object');
    issues.throwIfAny('adapter configuration');
  }
  for (const key of Object.keys(input)) {
    if (!KNOWN_FIELDS.has(key)) issues.add(f(key), 'is not a known adapter field');
  }
  const { rank, learningRate, batchSize } = input;
  if (!isPositiveInt(rank) || rank > 4096) issues.add(f('rank'), `must be an integer in [1, 4096], got ${String(rank)}`);
  const alpha = input.alpha ?? (isPositiveInt(rank) ? 2 * rank : undefined);
  if (!isFiniteNumber(alpha) || alpha <= 0) issues.add(f('alpha'), `must be a positive number, got ${String(input.alpha)}`);
  if (!isFiniteNumber(learningRate) || learningRate <= 0) {
    issues.add(f('learningRate'), `must be a positive finite number, got ${String(learningRate)}`);
  }
  if (!isPositiveInt(batchSize)) issues.add(f('batchSize'), `must be a positive integer, got ${String(batchSize)}`);
  const dropout = input.dropout ?? DEFAULT_ADAPTER_CONFIG.dropout;
  if (!isFiniteNumber(dropout) || dropout < 0 || dropout >= 1) issues.add(f('dropout'), `must be in [0, 1), got ${String(dropout)}`);
  const weightDecay = input.weightDecay ?? DEFAULT_ADAPTER_CONFIG.weightDecay;
  if (!isFiniteNumber(weightDecay) || weightDecay < 0) issues.add(f('weightDecay'), `must be a finite number ≥ 0, got ${String(weightDecay)}`);
  const seed = input.seed ?? DEFAULT_ADAPTER_CONFIG.seed;
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) issues.add(f('seed'), `must be an integer in [0, 2^32), got ${String(seed)}`);
  const targets = input.targets ?? DEFAULT_ADAPTER_CONFIG.targets;
  if (!Array.isArray(targets)) issues.add(f('targets'), 'must be an array of layer names, globs or regular expressions');
  else {
    targets.forEach((t, i) => {
      if (!(t instanceof RegExp) && (typeof t !== 'string' || t.length === 0)) {
        issues.add(f(`targets[${i}]`), 'must be a non-empty string or a RegExp');
      }
    });
  }
  const optimizer = resolveOptimizer(input.optimizer, f('optimizer'), issues);
  const { steps, epochs } = input;
  if (steps !== undefined && epochs !== undefined) issues.add(f('steps'), 'give either steps or epochs, not both');
  if (steps === undefined && epochs === undefined) issues.add(f('steps'), 'one of steps or epochs is required');
  if (steps !== undefined && !isPositiveInt(steps)) issues.add(f('steps'), `must be a positive integer, got ${String(steps)}`);
  if (epochs !== undefined && !isPositiveInt(epochs)) issues.add(f('epochs'), `must be a positive integer, got ${String(epochs)}`);
  issues.throwIfAny('adapter configuration');
  return {
    rank: rank!, alpha: alpha!, learningRate: learningRate!, batchSize: batchSize!, dropout, weightDecay,
    targets: [...targets], seed, optimizer, ...(steps !== undefined ? { steps } : { epochs }),
  };
}

function resolveOptimizer(input: AdapterConfigInput['optimizer'], field: string, issues: IssueCollector): OptimizerConfig {
  const o = (input === undefined ? DEFAULT_ADAPTER_CONFIG.optimizer : typeof input === 'string' ? { type: input } : input) as
    { type?: unknown; beta1?: number; beta2?: number; epsilon?: number; momentum?: number };
  if (o === null || typeof o !== 'object') {
    issues.add(field, `must be "adamw", "sgd" or an object with a type, got ${String(input)}`);
    return DEFAULT_ADAPTER_CONFIG.optimizer;
  }
  if (o.type === 'adamw') {
    const { beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8 } = o;
    if (!isFiniteNumber(beta1) || beta1 < 0 || beta1 >= 1) issues.add(`${field}.beta1`, `must be in [0, 1), got ${String(beta1)}`);
    if (!isFiniteNumber(beta2) || beta2 < 0 || beta2 >= 1) issues.add(`${field}.beta2`, `must be in [0, 1), got ${String(beta2)}`);
    if (!isFiniteNumber(epsilon) || epsilon <= 0) issues.add(`${field}.epsilon`, `must be a positive number, got ${String(epsilon)}`);
    return { type: 'adamw', beta1, beta2, epsilon };
  }
  if (o.type === 'sgd') {
    const { momentum = 0 } = o;
    if (!isFiniteNumber(momentum) || momentum < 0 || momentum >= 1) issues.add(`${field}.momentum`, `must be in [0, 1), got ${String(momentum)}`);
    return { type: 'sgd', momentum };
  }
  issues.add(`${field}.type`, `must be "adamw" or "sgd", got ${String((o as { type?: unknown }).type)}`);
  return DEFAULT_ADAPTER_CONFIG.optimizer;
}

/** LoRA scale s = α / r. */
export const loraScale = (c: Pick<AdapterConfig, 'alpha' | 'rank'>): number => c.alpha / c.rank;

/** Whether a layer name is selected by a target list (empty list selects every layer). */
export function matchesTargets(layerName: string, targets: readonly TargetPattern[]): boolean {
  if (targets.length === 0) return true;
  return targets.some((t) => (t instanceof RegExp ? t.test(layerName) : globToRegExp(t).test(layerName)));
}

function globToRegExp(glob: string): RegExp {
  const escaped = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${escaped}$`);
}
