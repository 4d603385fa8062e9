import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import {
  AdapterConfigInput, bestTrial, ConfigError, expandSearchSpace, IssueCollector, Plugin, saveAdapterCheckpoint,
  SearchSpace, SearchStrategy, TrialRecord, TrialSpec,
} from '@alto/core';
import { predictWithAdapter } from './adapter-weights.js';
import { DEFAULT_BACKENDS, initBackend } from './backend.js';
import type { DataSource } from './data.js';
import { FunctionModel, wrapModel } from './model.js';
import { PerExampleLoss, Trainer, TrainerOptions, TfjsSession } from './trainer.js';

export interface TuneTask {
  name: string;
  train: DataSource;
  valid?: DataSource;
  searchSpace: SearchSpace;
  strategy?: SearchStrategy;
  /** Settings shared by every trial of the task: steps or epochs, targets, optimizer, seed… */
  base?: AdapterConfigInput;
}

export interface TuneOptions extends TrainerOptions {
  model: LayersModel | FunctionModel;
  /** Loss of each example, e.g. (y, p) => tf.losses.softmaxCrossEntropy(y, p, undefined, undefined, Reduction.NONE). */
  loss: PerExampleLoss;
  tasks: TuneTask[];
  /** Backend name or names in order of preference; default: the current one, else wasm then cpu. */
  backend?: string | string[];
  plugins?: Plugin<TfjsSession>[];
  /** One trial at a time: the same per-trial math without batching. */
  sequential?: boolean;
}

export interface BestAdapter {
  trial: TrialRecord;
  save(dir: string, meta?: Record<string, string | number | null>): Promise<void>;
  /** Base model output with this adapter applied to every row. */
  predict(x: tf.Tensor): tf.Tensor;
}

export interface TuneResult {
  backend: string;
  wallSeconds: number;
  samplesTrained: number;
  trials: TrialRecord[];
  /** The best trial of a task (the only task when there is one), or null if none finished. */
  best(task?: string): BestAdapter | null;
}

/**
 * Tunes LoRA on an existing model: each task's search space becomes trials, all trained at
 * once over the frozen model, and each task's best adapter comes back. The model, data and
 * per-example loss are the user's own.
 */
export async function tune(options: TuneOptions): Promise<TuneResult> {
  const expanded = expandTasks(options.tasks);
  const backend = options.backend !== undefined || !currentBackend() ? await initBackend(options.backend ?? DEFAULT_BACKENDS) : currentBackend()!;
  const model = wrapModel(options.model);
  const started = performance.now();
  try {
    const trainer = new Trainer(model, options.loss, options.tasks, { ...options, maxConcurrent: options.sequential ? 1 : options.maxConcurrent });
    for (const p of options.plugins ?? []) trainer.session.use(p);
    for (const { task, trials } of expanded) for (const t of trials) trainer.enqueue(task, t.id, t.config);
    const trials = await trainer.run();
    return {
      backend,
      wallSeconds: (performance.now() - started) / 1000,
      samplesTrained: trials.reduce((n, t) => n + t.samples, 0),
      trials,
      best(task) {
        const name = task ?? (options.tasks.length === 1 ? options.tasks[0].name : undefined);
        if (name === undefined) throw new Error('name the task: this run tuned several');
        const trial = bestTrial(trials.filter((t) => t.task === name));
        if (!trial || !trial.weights) return null;
        const weights = trial.weights;
        return {
          trial,
          save: (dir, meta = {}) => saveAdapterCheckpoint(dir, { config: trial.config, weights, meta: { task: trial.task, trial: trial.id, steps: trial.steps, valLoss: trial.finalValLoss, ...meta } }),
          predict: (x) => {
            const m = wrapModel(options.model);
            try {
              return predictWithAdapter(m, weights, trial.config, x);
            } finally {
              m.detach();
            }
          },
        };
      },
    };
  } finally {
    model.detach();
  }
}

function expandTasks(tasks: readonly TuneTask[]): { task: string; trials: TrialSpec[] }[] {
  const issues = new IssueCollector();
  if (!Array.isArray(tasks) || tasks.length === 0) issues.add('tasks', 'at least one task is needed');
  const out: { task: string; trials: TrialSpec[] }[] = [];
  const names = new Set<string>();
  (tasks ?? []).forEach((t, i) => {
    const at = `tasks[${i}]`;
    if (typeof t.name !== 'string' || !/^[\w.-]+$/.test(t.name)) issues.add(`${at}.name`, 'must be a non-empty name of letters, digits, ".", "_" or "-"');
    else if (names.has(t.name)) issues.add(`${at}.name`, `"${t.name}" is used twice`);
    names.add(t.name);
    if (!t.train || typeof t.train.gather !== 'function' || !(t.train.size > 0)) issues.add(`${at}.train`, 'must be a data source with at least one example');
    if (t.valid !== undefined && (typeof t.valid.gather !== 'function' || !(t.valid.size > 0))) issues.add(`${at}.valid`, 'must be a data source with at least one example');
    try {
      out.push({ task: t.name, trials: expandSearchSpace(t.searchSpace ?? {}, t.base ?? {}, t.strategy, `${at}.searchSpace`) });
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      e.issues.forEach((x) => issues.add(x.field, x.reason));
    }
  });
  issues.throwIfAny('tuning tasks');
  return out;
}

function currentBackend(): string | null {
  return (tf.engine() as unknown as { backendName: string | null }).backendName ?? null;
}
