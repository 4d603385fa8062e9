import { attach, attachPromise, Plugin, RetireReason, Session, TrialRecord } from '@alto/core';
import { Curve, newCurve, onTrainLoss, onValidLoss, ScreeningCut, screeningCut } from './detectors.js';
import { EarlyExitOptions, resolveEarlyExitOptions } from './options.js';

// Framework-neutral: it reads losses and answers hooks, never touches tensors.
export interface EarlyExitPlugin extends Plugin<Session<any, any, any, any>> {
  readonly options: EarlyExitOptions;
  /** The screening cut of each task, once made. */
  readonly cuts: ReadonlyMap<string, ScreeningCut>;
}

interface State {
  curves: Record<string, Curve>;
  flagged: Record<string, RetireReason>;
  cutTasks: Record<string, ScreeningCut>;
}

/**
 * Loss-trajectory early exit (ALTO): divergence and overfitting at any time, and the
 * underperformance cut at the end of a screening phase, with rotation — an adapter that has
 * finished screening steps aside until the cut while its task still has configurations being
 * screened, so a sweep larger than what fits still screens every configuration before the cut
 * and no screened trial trains on before it. Options are validated when the plugin is built.
 */
export function earlyExit(input: Partial<EarlyExitOptions> = {}): EarlyExitPlugin {
  const options = resolveEarlyExitOptions(input);
  let state: State = { curves: {}, flagged: {}, cutTasks: {} };
  const cuts = new Map<string, ScreeningCut>();
  let trials: TrialRecord[] = [];

  const curveOf = (name: string, plannedSteps: number) => (state.curves[name] ??= newCurve(plannedSteps, options));
  const planned = (name: string) => trials.find((t) => t.name === name)?.plannedSteps ?? 1;
  // A trial that the cut must still wait for: queued, or paused or running inside its warm-up.
  const awaitsScreening = (t: TrialRecord) =>
    t.status === 'queued' ||
    ((t.status === 'paused' || t.status === 'running') && !state.flagged[t.name] && t.steps < curveOf(t.name, t.plannedSteps).warmupSteps);

  function tryCut(task: string): void {
    if (state.cutTasks[task]) return;
    const members = trials.filter((t) => t.task === task);
    if (members.some((t) => t.status === 'queued')) return;
    const alive = members.filter((t) => t.status !== 'exited' && !state.flagged[t.name]);
    const entries = [];
    for (const t of alive) {
      const c = state.curves[t.name];
      const score = c?.warmupVal ?? (t.status === 'completed' ? t.bestValLoss : null);
      if (score === null || score === undefined || !c) return; // still screening
      entries.push({ name: t.name, config: t.config, score, curve: c });
    }
    if (entries.length === 0) return;
    const cut = screeningCut(entries, options);
    for (const name of cut.cut) state.flagged[name] = 'underperforming';
    state.cutTasks[task] = cut;
    cuts.set(task, cut);
  }

  return {
    name: 'early-exit',
    options,
    cuts,
    apply(session) {
      trials = session.trials;
      const detach = [
        attach(session.hooks.shouldEvaluate, 'early-exit', (a) =>
          a.stepsDone > 0 && (a.stepsDone % options.evalEvery === 0 || a.stepsDone === curveOf(a.name, planned(a.name)).warmupSteps) ? true : undefined),
        attach(session.hooks.shouldPause, 'early-exit', (a) => {
          if (state.cutTasks[a.task] || state.flagged[a.name]) return undefined;
          const c = curveOf(a.name, planned(a.name));
          if (a.stepsDone < c.warmupSteps) return undefined;
          const self = trials.find((t) => t.name === a.name);
          // Step aside while others of the task are still being screened (queued, paused
          // before the end of their warm-up, or running it): steps taken before the cut are
          // thrown away for the trials it cuts (most of them), and they slow the steps of the
          // trials the cut waits for. Once paused, wait for the cut.
          return self?.status === 'paused' || trials.some((t) => t.task === a.task && t.name !== a.name && awaitsScreening(t)) ? true : undefined;
        }),
        attach(session.hooks.shouldRetire, 'early-exit', (a) => state.flagged[a.name]),
        attachPromise(session.hooks.lossReported, 'early-exit', async (report) => {
          const touched = new Set<string>();
          for (const { adapter, loss, adapterStep } of report.losses) {
            const c = curveOf(adapter, planned(adapter));
            if (report.kind === 'train') onTrainLoss(c, loss, options);
            else {
              const reason = onValidLoss(c, adapterStep, loss, options);
              if (reason && !state.flagged[adapter]) state.flagged[adapter] = reason;
            }
            const task = trials.find((t) => t.name === adapter)?.task;
            if (task) touched.add(task);
          }
          for (const task of touched) tryCut(task);
        }),
      ];
      return () => detach.reverse().forEach((d) => d());
    },
    saveState: () => structuredClone(state),
    loadState: (saved) => {
      state = structuredClone(saved as State);
      cuts.clear();
      for (const [task, cut] of Object.entries(state.cutTasks)) cuts.set(task, cut);
    },
  };
}
