import type { TaskRecord } from './store.js';

/** Throughput assumed before a task has been profiled (samples per second per device). */
export const PRIOR_SAMPLES_PER_SECOND_PER_DEVICE = 20;

/**
 * Seconds a task still needs, as a worst case: every remaining sample of its whole search is
 * trained (early exit only shortens it). Before profiling, a prior throughput per device;
 * afterwards the throughput the executor measured, refined by the progress since it started.
 */
export function predictRemaining(task: TaskRecord, now: number, priorPerDevice = PRIOR_SAMPLES_PER_SECOND_PER_DEVICE): number {
  const left = Math.max(0, task.spec.datasetSize - task.samplesDone);
  let rate = priorPerDevice * task.spec.devices;
  if (task.samplesPerSecond && task.samplesPerSecond > 0) rate = task.samplesPerSecond;
  if (task.state === 'running' && task.startedAt !== null && task.samplesDone > 0) {
    const observed = task.samplesDone / Math.max(1e-3, now - task.startedAt);
    // the slower of the profile and what the run has shown so far: a worst case
    rate = Math.min(rate, observed);
  }
  return left / rate;
}
