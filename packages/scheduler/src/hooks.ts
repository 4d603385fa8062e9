import { AsyncSeriesBailHook, SyncBailHook, SyncHook } from 'tapable';
import type { Plan, PlacementInput } from './placement/types.js';
import type { TaskRecord } from './store.js';

/**
 * The scheduler's policies, as hooks that plugins tap (the defaults are tapped last, so a
 * plugin's answer wins):
 * - predictDuration (SyncBail): seconds a task still needs, worst case;
 * - placeTasks (AsyncSeriesBail): a plan for the queued tasks around the running ones;
 * - shouldPreempt (SyncBail): true to stop a running task and put it back in the queue;
 * - taskEvent (Sync): every change of a task's state, for observers.
 */
export function createSchedulerHooks() {
  return Object.freeze({
    predictDuration: new SyncBailHook<[TaskRecord, number], number | undefined>(['task', 'now']),
    placeTasks: new AsyncSeriesBailHook<[PlacementInput], Plan | undefined>(['input']),
    shouldPreempt: new SyncBailHook<[TaskRecord, Plan], boolean | undefined>(['task', 'plan']),
    taskEvent: new SyncHook<[TaskRecord, string]>(['task', 'event']),
  });
}

export type SchedulerHooks = ReturnType<typeof createSchedulerHooks>;

/** A scheduling policy plugin: `apply` taps the hooks and returns what removes its taps. */
export interface SchedulerPlugin {
  name: string;
  apply(hooks: SchedulerHooks): () => void;
}
