import { attach, attachPromise, ConfigError, type Plugin, type Session, type TrialRecord } from '@alto/core';

type AnySession = Session<any, any, any, any>;

/** What the plugin tells the scheduler (through the worker that runs this executor). */
export type LinkReport =
  | { type: 'profile'; samplesPerSecond: number }
  | { type: 'progress'; samplesDone: number; losses: Record<string, number>; exits: number }
  | { type: 'checkpoint'; checkpoint: { trials: TrialRecord[]; samplesDone: number } };

export interface SchedulerLinkOptions {
  /** Delivers a report (in an executor started by `alto worker`: the IPC channel to it). */
  send: (report: LinkReport) => void;
  /** Seconds of training after which the measured throughput is reported once. */
  profileAfterSeconds?: number;
  /** At most one progress report per this many seconds. */
  progressEverySeconds?: number;
  /** Trials finished in an earlier attempt (from the task's last checkpoint), kept in every new checkpoint. */
  restored?: readonly TrialRecord[];
}

/**
 * The executor side of the scheduler: measures throughput early and reports it once
 * (`profile`), reports progress (samples trained, latest losses, exits), and a checkpoint
 * whenever trials have finished: their records with the adapters they hand back, so that a
 * task moved to another worker resumes without redoing them. `cancel()` stops every adapter.
 */
export function schedulerLink(options: SchedulerLinkOptions): Plugin<AnySession> & { cancel(): void } {
  const profileAfter = options.profileAfterSeconds ?? 2;
  const every = options.progressEverySeconds ?? 0.5;
  if (!(profileAfter >= 0) || !(every >= 0)) throw new ConfigError([{ field: 'schedulerLink', reason: 'profileAfterSeconds and progressEverySeconds must be ≥ 0' }]);
  let cancelled = false;
  return {
    name: 'scheduler-link',
    cancel() {
      cancelled = true;
    },
    apply(session: AnySession) {
      const samples = new Map<string, number>();
      const batch = new Map<string, number>();
      const restored = options.restored ?? [];
      const sent = new Set(restored.map((t) => t.name));
      let exits = 0;
      let started = 0;
      let profiled = false;
      let lastProgress = 0;
      const before = (options.restored ?? []).reduce((n, t) => n + t.samples, 0);
      const total = () => before + [...samples.values()].reduce((a, b) => a + b, 0);
      const detach = [
        attach(session.hooks.adapterAdmitted, 'scheduler-link', (a) => {
          if (!started) started = performance.now();
          batch.set(a.name, a.config.batchSize);
          samples.set(a.name, a.samplesDone);
        }),
        attach(session.hooks.adapterRetired, 'scheduler-link', (a, reason) => {
          samples.set(a.name, a.samplesDone);
          if (reason !== 'completed' && reason !== 'paused') exits++;
        }),
        attach(session.hooks.shouldRetire, 'scheduler-link', () => (cancelled ? 'cancelled' : undefined)),
        attachPromise(session.hooks.lossReported, 'scheduler-link', async (report) => {
          // Reports come after the losses (and best-validation snapshots) are read, so the
          // records of trials that finished before now are final.
          const finished = session.trials.filter((t) => t.status === 'completed' || t.status === 'exited');
          if (finished.some((t) => !sent.has(t.name))) {
            for (const t of finished) sent.add(t.name);
            options.send({ type: 'checkpoint', checkpoint: { trials: [...restored, ...finished], samplesDone: total() } });
          }
          if (report.kind !== 'train') return;
          const losses: Record<string, number> = {};
          for (const l of report.losses) {
            samples.set(l.adapter, Math.max(samples.get(l.adapter) ?? 0, l.adapterStep * (batch.get(l.adapter) ?? 0)));
            losses[l.adapter] = l.loss;
          }
          const t = performance.now();
          const seconds = (t - started) / 1000;
          if (!profiled && seconds >= profileAfter && total() > 0) {
            profiled = true;
            options.send({ type: 'profile', samplesPerSecond: total() / seconds });
          }
          if ((t - lastProgress) / 1000 >= every) {
            lastProgress = t;
            options.send({ type: 'progress', samplesDone: total(), losses, exits });
          }
        }),
      ];
      return () => detach.reverse().forEach((d) => d());
    },
  };
}
