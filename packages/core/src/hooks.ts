import { AsyncSeriesHook, SyncBailHook, SyncHook, SyncWaterfallHook } from 'tapable';
import type { AdapterConfig } from './adapter-config.js';
import { PluginError } from './errors.js';
import type { SegmentPlan } from './segment-plan.js';

export type RetireReason = 'completed' | 'diverging' | 'overfitting' | 'underperforming' | 'nan' | 'error' | 'cancelled' | (string & {});

/** What a hook learns about one adapter. */
export interface AdapterInfo {
  name: string;
  config: AdapterConfig;
  task: string;
  trialId: string;
  stepsDone: number;
  samplesDone: number;
}

export interface StepInfo {
  step: number;
  plan: SegmentPlan;
}

/** Losses of one step, read from the device after the step, never in the step itself. */
export interface LossReport {
  step: number;
  kind: 'train' | 'valid';
  /** One entry per adapter: its loss, its rows, and its own step count at the measurement. */
  losses: { adapter: string; loss: number; rows: number; adapterStep: number }[];
}

/** Why admission runs: at the start, or to backfill the slot of an adapter that left. */
export interface AdmissionContext {
  step: number;
  /** Per-adapter batch size of the adapter that just left, when backfilling. */
  freedBatchSize: number | null;
}

/** A kernel request: which kernel, on which backend, for which plan. */
export interface KernelQuery {
  kernelName: string;
  backend: string;
  plan: SegmentPlan;
}

/**
 * Every hook of a session, declared once. The tapable type carries the meaning:
 * AsyncSeries for I/O, Sync for notifications, SyncWaterfall to thread a value through
 * plugins, SyncBail where the first plugin to answer wins.
 */
export function createSessionHooks<Kernel = unknown, KernelGrad = unknown>() {
  const hooks = {
    setup: new AsyncSeriesHook<[]>([], 'setup'),
    shutdown: new AsyncSeriesHook<[]>([], 'shutdown'),
    adapterAdmitted: new SyncHook<[AdapterInfo]>(['adapter'], 'adapterAdmitted'),
    adapterRetired: new SyncHook<[AdapterInfo, RetireReason]>(['adapter', 'reason'], 'adapterRetired'),
    planStep: new SyncWaterfallHook<[SegmentPlan, number]>(['plan', 'step'], 'planStep'),
    beforeStep: new SyncHook<[StepInfo]>(['step'], 'beforeStep'),
    afterStep: new SyncHook<[StepInfo]>(['step'], 'afterStep'),
    groupedLora: new SyncBailHook<[KernelQuery], Kernel | undefined>(['query'], 'groupedLora'),
    groupedLoraGrad: new SyncBailHook<[KernelQuery], KernelGrad | undefined>(['query'], 'groupedLoraGrad'),
    /** Return false to skip this adapter's update for the step. */
    beforeOptimizerStep: new SyncBailHook<[AdapterInfo, StepInfo], false | undefined>(['adapter', 'step'], 'beforeOptimizerStep'),
    lossReported: new AsyncSeriesHook<[LossReport]>(['report'], 'lossReported'),
    /** Return a reason to retire the adapter now. */
    shouldRetire: new SyncBailHook<[AdapterInfo, StepInfo], RetireReason | undefined>(['adapter', 'step'], 'shouldRetire'),
    /** Return true to evaluate the adapter on validation data after this step. */
    shouldEvaluate: new SyncBailHook<[AdapterInfo, StepInfo], boolean | undefined>(['adapter', 'step'], 'shouldEvaluate'),
    /**
     * Return true to move the adapter out of the step with its state kept on the host, so
     * that queued trials can run (rotation); asked again of paused adapters: anything but
     * true lets them resume.
     */
    shouldPause: new SyncBailHook<[AdapterInfo, StepInfo], boolean | undefined>(['adapter', 'step'], 'shouldPause'),
    /** Thread the admission candidates (paused then queued) in the order to try them. */
    admissionOrder: new SyncWaterfallHook<[AdapterInfo[], AdmissionContext]>(['candidates', 'context'], 'admissionOrder'),
    error: new SyncHook<[PluginError]>(['error'], 'error'),
  };
  for (const [hookName, hook] of Object.entries(hooks)) {
    if (hookName === 'error') continue;
    hook.intercept({ register: (tap) => ({ ...tap, fn: attributeErrors(tap.type, tap.fn, tap.name, hookName, hooks.error) }) });
  }
  return hooks;
}

export type SessionHooks<Kernel = unknown, KernelGrad = unknown> = ReturnType<typeof createSessionHooks<Kernel, KernelGrad>>;

/** Wraps a tap so that what it throws becomes a PluginError naming the tap and the hook. */
function attributeErrors(type: 'sync' | 'async' | 'promise', fn: Function, tapName: string, hookName: string, errorHook: SyncHook<[PluginError]>): Function {
  const wrap = (e: unknown): PluginError => {
    if (e instanceof PluginError) return e;
    const pe = new PluginError(tapName, hookName, e);
    errorHook.call(pe);
    return pe;
  };
  if (type === 'sync') {
    return (...args: unknown[]) => {
      try {
        return fn(...args);
      } catch (e) {
        throw wrap(e);
      }
    };
  }
  if (type === 'promise') {
    return (...args: unknown[]) => {
      try {
        return Promise.resolve(fn(...args)).catch((e: unknown) => Promise.reject(wrap(e)));
      } catch (e) {
        return Promise.reject(wrap(e));
      }
    };
  }
  return (...args: unknown[]) => {
    const callback = args.pop() as (err?: unknown, result?: unknown) => void;
    try {
      fn(...args, (err?: unknown, result?: unknown) => callback(err ? wrap(err) : err, result));
    } catch (e) {
      callback(wrap(e));
    }
  };
}

type AnyHook = { taps: { name: string; fn: Function }[] };
type TapFn<H> = H extends { tap(options: string, fn: infer F): void } ? F : never;
type TapPromiseFn<H> = H extends { tapPromise(options: string, fn: infer F): void } ? F : never;

/**
 * Taps `fn` into `hook` and returns the detach function. tapable has no untap; removing the
 * tap from `hook.taps` and resetting the compiled call is what its own `intercept` does.
 */
export function attach<H extends { tap(options: string, fn: never): void }>(hook: H, name: string, fn: TapFn<H>): () => void {
  (hook as unknown as { tap(name: string, fn: unknown): void }).tap(name, fn);
  return detachLast(hook as unknown as AnyHook, name);
}

/** Like `attach`, for AsyncSeries hooks with a promise-returning function. */
export function attachPromise<H extends { tapPromise(options: string, fn: never): void }>(hook: H, name: string, fn: TapPromiseFn<H>): () => void {
  (hook as unknown as { tapPromise(name: string, fn: unknown): void }).tapPromise(name, fn);
  return detachLast(hook as unknown as AnyHook, name);
}

function detachLast(hook: AnyHook, name: string): () => void {
  const tap = [...hook.taps].reverse().find((t) => t.name === name);
  return () => {
    const i = tap ? hook.taps.indexOf(tap) : -1;
    if (i < 0) return;
    hook.taps.splice(i, 1);
    (hook as unknown as { _resetCompilation(): void })._resetCompilation();
  };
}
