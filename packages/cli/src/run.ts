import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { Packr } from 'msgpackr';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, expandSearchSpace, IssueCollector, saveAdapterCheckpoint, TrialRecord } from '@alto/core';
import { schedulerLink } from '@alto/scheduler-link';
import { earlyExit, resolveEarlyExitOptions } from '@alto/early-exit';
import { completionLoss, exactMatch } from '@alto/models';
import { describeOutOfMemory, initBackend, Trainer, wrapModel, type PerExampleLoss } from '@alto/tfjs';
import type { TuneConfig } from './config.js';
import { loadTensorTask, loadTextTask, LoadedTask } from './data.js';
import { loadModel } from './model-loader.js';
import { ProgressView } from './progress.js';
import { renderReport } from './report.js';
import { pickBest, Summary, trialSummary, configSummary } from './summary.js';
import { stepTimer } from './step-timer.js';

export interface RunOptions {
  out: string;
  /** Overrides the configuration's backend. */
  backend?: string;
  /** false: batched without early exit. */
  earlyExit: boolean;
  /** One trial at a time, no batching, no early exit. */
  sequential: boolean;
  /** Save every trial's adapter, not only each task's best. */
  saveAll: boolean;
  /** Where progress goes; a TTY gets the live view. */
  stream: NodeJS.WriteStream;
  version: string;
  /** Time every kernel of this executor step into kernel-profile.json (0 or absent: none). */
  profileStep?: number;
}

/** Runs a whole tuning job: every task's sweep, one executor, and writes the out dir. */
export async function runTune(config: TuneConfig, opts: RunOptions): Promise<Summary> {
  const backend = await initBackend(opts.backend ?? config.backend, { cuda: config.cuda as Record<string, unknown> });
  const model = await loadModel(config.model);
  const tasks: LoadedTask[] = [];
  try {
    const issues = new IssueCollector();
    for (const [i, t] of config.tasks.entries()) {
      try {
        tasks.push(model.kind === 'text' ? await loadTextTask(t, model.transformer.spec.context, `tasks[${i}]`) : await loadTensorTask(t, `tasks[${i}]`));
      } catch (e) {
        if (!(e instanceof ConfigError)) throw e;
        e.issues.forEach((x) => issues.add(x.field, x.reason));
      }
    }
    const trialsByTask = config.tasks.map((t, i) => {
      try {
        // Fields a search space leaves out take these values.
        return expandSearchSpace(t.searchSpace, { rank: 8, learningRate: 1e-3, batchSize: 8, steps: t.steps, seed: config.seed, targets: t.targets }, { type: 'grid' }, `tasks[${i}].searchSpace`);
      } catch (e) {
        if (!(e instanceof ConfigError)) throw e;
        e.issues.forEach((x) => issues.add(x.field, x.reason));
        return [];
      }
    });
    issues.throwIfAny('configuration');

    const base = wrapModel(model.kind === 'text' ? model.transformer.forward : model.model);
    const loss: PerExampleLoss = model.kind === 'text' ? completionLoss : (y, p) => tf.losses.softmaxCrossEntropy(y, p, undefined, 0, tf.Reduction.NONE);
    const useEarlyExit = opts.earlyExit && !opts.sequential && config.earlyExit !== false;
    const trainer = new Trainer(base, loss, tasks, {
      maxConcurrent: opts.sequential ? 1 : config.maxAdapters,
      memoryBudgetBytes: config.memoryBudgetMiB > 0 ? config.memoryBudgetMiB * 2 ** 20 : undefined,
      fairShareLead: config.fairShareLead,
      evalEvery: config.evalEvery,
      validRows: config.validRows,
      keepAllWeights: true,
      profileStep: opts.profileStep ?? 0,
    });
    const eeOptions = useEarlyExit ? resolveEarlyExitOptions({ evalEvery: config.evalEvery, ...(config.earlyExit || {}) }) : null;
    if (eeOptions) trainer.session.use(earlyExit(eeOptions));
    const timer = stepTimer(3, () => trainer.hostSeconds);
    trainer.session.use(timer);
    // Started by `alto worker`: report to the scheduler through the worker, obey its cancel,
    // and skip the trials a checkpoint of an earlier attempt already holds.
    let restored: TrialRecord[] = [];
    if (process.env.ALTO_SCHEDULER_TASK && process.send) {
      const file = process.env.ALTO_SCHEDULER_CHECKPOINT;
      if (file) restored = ((new Packr({ useRecords: false, mapsAsObjects: true, moreTypes: true }).unpack(await readFile(file)) as { trials?: TrialRecord[] }).trials ?? []);
      const link = schedulerLink({ send: (report) => process.send!(report), restored });
      trainer.session.use(link);
      process.on('message', (m) => (m as { type?: string })?.type === 'cancel' && link.cancel());
    }
    const done = new Set(restored.map((t) => t.name));
    trialsByTask.forEach((trials, i) => trials.forEach((t) => done.has(`${config.tasks[i].name}/${t.id}`) || trainer.enqueue(config.tasks[i].name, t.id, t.config)));
    const view = new ProgressView(trainer, opts.stream, opts.stream.isTTY === true);
    const started = performance.now();
    const trials = [...restored, ...(await trainer.run())];
    view.finish();
    const wallSeconds = (performance.now() - started) / 1000;
    if (trainer.outOfMemorySteps > 0) {
      opts.stream.write(`${trainer.outOfMemorySteps} step(s) ran out of memory and were taken again with fewer adapters (${trainer.memoryBound.describe()} since)\n`);
      for (const r of trainer.outOfMemory) opts.stream.write(`  ${describeOutOfMemory(r)}\n`);
    }

    // Metric of every trial that kept weights, several adapters per batched decode.
    for (const [i, task] of config.tasks.entries()) {
      const mine = trials.filter((t) => t.task === task.name);
      if (task.metric === 'exact_match' && model.kind === 'text') {
        const examples = tasks[i].validExamples!.slice(0, config.metricRows);
        const scored = mine.filter((t) => t.weights);
        for (let k = 0; k < scored.length; k += 12) {
          const group = scored.slice(k, k + 12);
          const values = exactMatch(model.transformer.forward, model.transformer.spec.context, examples, group.map((t) => ({ weights: t.weights!, config: t.config })));
          group.forEach((t, j) => (t.metricValue = values[j]));
        }
      } else for (const t of mine) t.metricValue = t.bestValLoss;
    }

    const summary: Summary = {
      version: opts.version,
      backend,
      earlyExit: eeOptions ? { ...eeOptions } : false,
      mode: opts.sequential ? 'sequential' : useEarlyExit ? 'alto' : 'batched',
      wallSeconds,
      executorSteps: timer.timing(),
      hostSeconds: { ...trainer.hostSeconds },
      samplesTrained: trials.reduce((n, t) => n + t.samples, 0),
      samplesBudget: trials.reduce((n, t) => n + t.plannedSteps * t.config.batchSize, 0),
      outOfMemory: [...trainer.outOfMemory],
      tasks: config.tasks.map((task) => {
        const mine = trials.filter((t) => t.task === task.name);
        const best = pickBest(mine, task.metric);
        return {
          name: task.name,
          metric: task.metric,
          best: best ? { trial: best.id, config: configSummary(best.config, best.plannedSteps), valLoss: best.bestValLoss, metricValue: best.metricValue ?? null } : null,
          trials: mine.map(trialSummary),
        };
      }),
    };
    await writeOutputs(opts, summary, trials, config);
    if (trainer.kernelProfile) await writeFile(join(opts.out, 'kernel-profile.json'), JSON.stringify(trainer.kernelProfile, null, 1) + '\n');
    return summary;
  } finally {
    tasks.forEach((t) => t.dispose());
    model.dispose();
  }
}

async function writeOutputs(opts: RunOptions, summary: Summary, trials: TrialRecord[], config: TuneConfig): Promise<void> {
  await mkdir(opts.out, { recursive: true });
  for (const task of summary.tasks) {
    for (const t of trials.filter((x) => x.task === task.name && x.weights)) {
      if (!opts.saveAll && task.best?.trial !== t.id) continue;
      await saveAdapterCheckpoint(join(opts.out, 'adapters', task.name, t.id), {
        config: t.config,
        weights: t.weights!,
        meta: { baseModel: typeof config.model === 'string' ? config.model : JSON.stringify(config.model), task: t.task, trial: t.id, step: t.weightsStep ?? t.steps, valLoss: t.bestValLoss, metricValue: t.metricValue ?? null },
      });
    }
  }
  await writeFile(join(opts.out, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
  await writeFile(join(opts.out, 'report.html'), renderReport(summary, trials));
}
