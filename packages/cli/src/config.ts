import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ConfigError, IssueCollector, SearchSpace } from '@alto/core';
import { EarlyExitOptions, resolveEarlyExitOptions } from '@alto/early-exit';
import { BUILTIN_TASKS, llamaSpec } from '@alto/models';
import { KNOWN_BACKENDS } from '@alto/tfjs';
import { cudaOptionProblems, type CudaBackendOptions } from '@alto/tfjs-backend-cuda';

export type Metric = 'exact_match' | 'loss';

export interface TaskConfig {
  name: string;
  /** LoRA target layers of every configuration of the task (names or globs); empty: every linear layer. */
  targets: string[];
  /** "builtin:NAME", or JSONL files of {"prompt", "completion"} (paths resolved against the config file). */
  data: { builtin: string } | { train: string; valid: string };
  metric: Metric;
  searchSpace: SearchSpace;
  steps: number;
}

export interface TuneConfig {
  /**
   * "builtin:tiny", the path of a saved tfjs model directory (model.json), or a built-in
   * Llama-shaped model: { builtin: "llama", dModel, layers, heads, kvHeads, ffn, context,
   * weights?: Hugging Face-layout safetensors (random weights from `seed` without) }.
   */
  model: string | LlamaModelConfig;
  backend: string;
  /** Options of the alto-cuda backend: { device, matmulPrecision: "fp32" | "tf32" | "bf16", cpuFallback, pagedMemory }. */
  cuda: CudaBackendOptions;
  tasks: TaskConfig[];
  /** Early-exit options, or false for none. */
  earlyExit: Partial<EarlyExitOptions> | false;
  /** Evaluate every this many steps of an adapter (all modes, so their checkpoints agree). */
  evalEvery: number;
  /** Validation examples for the loss, and for the metric. */
  validRows: number;
  metricRows: number;
  /** Most adapters trained at once in one executor (the rest rotate in). */
  maxAdapters: number;
  /** Memory budget of the executor in MiB (0: no limit beyond maxAdapters). */
  memoryBudgetMiB: number;
  /**
   * Started configurations that do not all fit take turns: one waiting gets in by parking
   * those this many steps ahead of it (0: it waits for one to finish).
   */
  fairShareLead: number;
  seed: number;
}

export interface LlamaModelConfig {
  builtin: 'llama';
  weights?: string;
  seed?: number;
  [dimension: string]: unknown;
}

/** The embedded default: the built-in model and three bundled tasks, 24 configurations each. */
export const DEFAULT_CONFIG: TuneConfig = {
  model: 'builtin:tiny',
  backend: 'wasm',
  cuda: {},
  tasks: BUILTIN_TASKS.map((name) => ({
    name,
    data: { builtin: name },
    metric: 'exact_match' as const,
    searchSpace: { learningRate: [1e-3, 3e-3, 1e-2, 3e-2], rank: [2, 8], batchSize: [4, 8, 16], alpha: '2r' },
    targets: [],
    steps: 120,
  })),
  earlyExit: {},
  evalEvery: 4,
  validRows: 64,
  metricRows: 100,
  maxAdapters: 24,
  memoryBudgetMiB: 0,
  fairShareLead: 2,
  seed: 0,
};

const TOP_FIELDS = new Set(['model', 'backend', 'cuda', 'tasks', 'earlyExit', 'evalEvery', 'validRows', 'metricRows', 'maxAdapters', 'memoryBudgetMiB', 'fairShareLead', 'seed']);
const TASK_FIELDS = new Set(['name', 'data', 'metric', 'searchSpace', 'steps', 'targets']);

export async function readConfigFile(path: string): Promise<TuneConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new ConfigError([{ field: '--config', reason: `cannot read ${path}: ${(e as Error).message}` }]);
  }
  let raw: unknown;
  try {
    raw = /\.ya?ml$/i.test(path) ? parseYaml(text) : JSON.parse(text);
  } catch (e) {
    throw new ConfigError([{ field: '--config', reason: `${path} is not valid ${/\.ya?ml$/i.test(path) ? 'YAML' : 'JSON'}: ${(e as Error).message}` }]);
  }
  return validateConfig(raw, dirname(resolve(path)));
}

const positiveInt = (v: unknown): v is number => Number.isInteger(v) && (v as number) > 0;

/**
 * Checks a configuration against the schema, filling defaults from the embedded one. Every bad
 * field is reported by its path; nothing runs until the whole configuration is valid.
 */
export function validateConfig(raw: unknown, baseDir = process.cwd()): TuneConfig {
  const issues = new IssueCollector();
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    issues.add('config', 'must be an object');
    issues.throwIfAny('configuration');
  }
  const c = raw as Record<string, unknown>;
  for (const k of Object.keys(c)) if (!TOP_FIELDS.has(k)) issues.add(k, `is not a configuration field (${[...TOP_FIELDS].join(', ')})`);
  let model = c.model ?? DEFAULT_CONFIG.model;
  if (model !== null && typeof model === 'object' && !Array.isArray(model)) {
    const m = model as Record<string, unknown>;
    if (m.builtin !== 'llama') issues.add('model.builtin', `must be "llama", got ${JSON.stringify(m.builtin)}`);
    const { builtin: _b, weights, seed, ...dims } = m;
    try {
      llamaSpec(dims);
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      e.issues.forEach((x) => issues.add(x.field, x.reason));
    }
    if (weights !== undefined && (typeof weights !== 'string' || !weights.endsWith('.safetensors'))) issues.add('model.weights', 'must be the path of a .safetensors file');
    if (seed !== undefined && !Number.isInteger(seed)) issues.add('model.seed', 'must be an integer');
    model = { ...m, ...(typeof weights === 'string' ? { weights: resolve(baseDir, weights) } : {}) };
  } else if (typeof model !== 'string' || model.length === 0) issues.add('model', 'must be "builtin:tiny", { "builtin": "llama", … } or the path of a saved tfjs model');
  else if (model.startsWith('builtin:') && model !== 'builtin:tiny') issues.add('model', `unknown built-in model "${model}" (builtin:tiny, or { "builtin": "llama", … })`);
  const textModel = model === 'builtin:tiny' || (typeof model === 'object' && model !== null);
  const backend = c.backend ?? DEFAULT_CONFIG.backend;
  if (typeof backend !== 'string' || !(KNOWN_BACKENDS as readonly string[]).includes(backend)) {
    issues.add('backend', `must be one of ${KNOWN_BACKENDS.join(', ')}, got ${JSON.stringify(backend)}`);
  }
  const cuda = c.cuda ?? DEFAULT_CONFIG.cuda;
  if (cuda === null || typeof cuda !== 'object' || Array.isArray(cuda)) issues.add('cuda', 'must be an object ({ device, matmulPrecision, cpuFallback, pagedMemory })');
  else for (const p of cudaOptionProblems(cuda as CudaBackendOptions)) issues.add(`cuda.${p.field}`, p.reason);
  const numbers: [keyof TuneConfig, boolean][] = [['evalEvery', false], ['validRows', false], ['metricRows', false], ['maxAdapters', false], ['memoryBudgetMiB', true], ['fairShareLead', true], ['seed', true]];
  const out: Record<string, unknown> = {};
  for (const [k, zero] of numbers) {
    const v = c[k] ?? DEFAULT_CONFIG[k];
    if (!(Number.isInteger(v) && ((v as number) > 0 || (zero && v === 0)))) issues.add(k, `must be a ${zero ? 'non-negative' : 'positive'} integer, got ${JSON.stringify(v)}`);
    out[k] = v;
  }
  let earlyExit: TuneConfig['earlyExit'] = DEFAULT_CONFIG.earlyExit;
  if (c.earlyExit !== undefined) {
    if (c.earlyExit === false) earlyExit = false;
    else {
      try {
        resolveEarlyExitOptions(c.earlyExit as Partial<EarlyExitOptions>);
        earlyExit = c.earlyExit as Partial<EarlyExitOptions>;
      } catch (e) {
        if (!(e instanceof ConfigError)) throw e;
        e.issues.forEach((i) => issues.add(i.field, i.reason));
      }
    }
  }
  const tasks: TaskConfig[] = [];
  if (c.tasks === undefined) tasks.push(...DEFAULT_CONFIG.tasks);
  else if (!Array.isArray(c.tasks) || c.tasks.length === 0) issues.add('tasks', 'must be a non-empty list of tasks');
  else {
    const names = new Set<string>();
    c.tasks.forEach((t: unknown, i: number) => {
      const at = `tasks[${i}]`;
      if (t === null || typeof t !== 'object') {
        issues.add(at, 'must be an object');
        return;
      }
      const task = t as Record<string, unknown>;
      for (const k of Object.keys(task)) if (!TASK_FIELDS.has(k)) issues.add(`${at}.${k}`, `is not a task field (${[...TASK_FIELDS].join(', ')})`);
      const name = task.name;
      if (typeof name !== 'string' || !/^[\w.-]+$/.test(name)) issues.add(`${at}.name`, 'must be a name of letters, digits, ".", "_" or "-"');
      else if (names.has(name)) issues.add(`${at}.name`, `"${name}" is used twice`);
      else names.add(name);
      const data = parseData(task.data, `${at}.data`, baseDir, textModel, issues);
      const metric = task.metric ?? 'exact_match';
      if (metric !== 'exact_match' && metric !== 'loss') issues.add(`${at}.metric`, `must be "exact_match" or "loss", got ${JSON.stringify(metric)}`);
      else if (metric === 'exact_match' && !textModel) issues.add(`${at}.metric`, 'exact_match needs a built-in text model; use "loss" with a tfjs model');
      const steps = task.steps ?? 120;
      if (!positiveInt(steps)) issues.add(`${at}.steps`, `must be a positive integer, got ${JSON.stringify(steps)}`);
      const searchSpace = task.searchSpace;
      if (searchSpace === null || typeof searchSpace !== 'object' || Array.isArray(searchSpace)) issues.add(`${at}.searchSpace`, 'must be an object (learningRate, rank, alpha, batchSize, dropout, …)');
      const targets = task.targets ?? [];
      if (!Array.isArray(targets) || targets.some((x) => typeof x !== 'string' || x.length === 0)) {
        issues.add(`${at}.targets`, 'must be an array of layer names or globs (e.g. ["*q_proj", "*v_proj"]); empty: every linear layer');
      }
      tasks.push({ name: name as string, data: data!, metric: metric as Metric, searchSpace: (searchSpace ?? {}) as SearchSpace, steps: steps as number, targets: targets as string[] });
    });
  }
  issues.throwIfAny('configuration');
  return { ...(out as Pick<TuneConfig, 'evalEvery' | 'validRows' | 'metricRows' | 'maxAdapters' | 'memoryBudgetMiB' | 'fairShareLead' | 'seed'>), model: model as TuneConfig['model'], backend: backend as string, cuda: cuda as CudaBackendOptions, tasks, earlyExit };
}

function parseData(data: unknown, at: string, baseDir: string, builtinModel: boolean, issues: IssueCollector): TaskConfig['data'] | undefined {
  if (typeof data === 'string') {
    const m = /^builtin:(.+)$/.exec(data);
    if (!m) issues.add(at, `must be "builtin:NAME" or { "train": FILE, "valid": FILE }, got ${JSON.stringify(data)}`);
    else if (!(BUILTIN_TASKS as readonly string[]).includes(m[1])) issues.add(at, `unknown built-in data "${m[1]}" (${BUILTIN_TASKS.join(', ')})`);
    else if (!builtinModel) issues.add(at, 'built-in data is text for the built-in model');
    else return { builtin: m[1] };
    return undefined;
  }
  if (data && typeof data === 'object' && !Array.isArray(data)) {
    const d = data as Record<string, unknown>;
    for (const k of ['train', 'valid'] as const) {
      if (typeof d[k] !== 'string' || !(d[k] as string).endsWith('.jsonl')) issues.add(`${at}.${k}`, 'must be the path of a .jsonl file');
    }
    for (const k of Object.keys(d)) if (k !== 'train' && k !== 'valid') issues.add(`${at}.${k}`, 'is not a data field (train, valid)');
    if (typeof d.train === 'string' && typeof d.valid === 'string') return { train: resolve(baseDir, d.train), valid: resolve(baseDir, d.valid) };
    return undefined;
  }
  issues.add(at, 'is required: "builtin:NAME" or { "train": FILE, "valid": FILE }');
  return undefined;
}
