import { describe, expect, it } from 'vitest';
import { buildSegmentPlan, newTrialRecord, resolveAdapterConfig, Session, type AdapterInfo } from '@alto/core';
import { earlyExit } from './plugin.js';

const step = { step: 0, plan: buildSegmentPlan([]) };

function sweep(statuses: { id: string; status: 'queued' | 'running' | 'paused'; steps: number }[]) {
  const session = new Session<number>(() => {});
  const plugin = earlyExit({ evalEvery: 2, warmupFraction: 0.1 });
  session.use(plugin);
  for (const { id, status, steps } of statuses) {
    const t = newTrialRecord('task', id, resolveAdapterConfig({ rank: 4, learningRate: 1e-3, batchSize: 2, steps: 20 }), 20);
    t.status = status;
    t.steps = steps;
    session.trials.push(t);
  }
  const info = (id: string): AdapterInfo => {
    const t = session.trials.find((x) => x.id === id)!;
    return { name: t.name, config: t.config, task: t.task, trialId: t.id, stepsDone: t.steps, samplesDone: 0 };
  };
  return { ask: (id: string) => session.hooks.shouldPause.call(info(id), step) };
}

describe('early exit: stepping aside for screening (warm-up of 2 steps here)', () => {
  it('steps aside after warm-up while another trial of the task is queued', () => {
    const { ask } = sweep([{ id: 'a', status: 'running', steps: 2 }, { id: 'b', status: 'queued', steps: 0 }]);
    expect(ask('a')).toBe(true);
  });

  it('steps aside after warm-up while another trial waits paused before its warm-up (made room after running out of memory)', () => {
    const { ask } = sweep([{ id: 'a', status: 'running', steps: 2 }, { id: 'b', status: 'paused', steps: 0 }]);
    expect(ask('a')).toBe(true);
  });

  it('steps aside after warm-up while another trial of the task still runs its warm-up (admitted later)', () => {
    const { ask } = sweep([{ id: 'a', status: 'running', steps: 2 }, { id: 'b', status: 'paused', steps: 2 }, { id: 'c', status: 'running', steps: 1 }]);
    expect(ask('a')).toBe(true);
    expect(ask('c')).toBeUndefined();
  });

  it('keeps training when every other trial of the task is screened, and never pauses before its own warm-up', () => {
    expect(sweep([{ id: 'a', status: 'running', steps: 2 }, { id: 'b', status: 'paused', steps: 2 }, { id: 'c', status: 'running', steps: 3 }]).ask('a')).toBeUndefined();
    expect(sweep([{ id: 'a', status: 'running', steps: 1 }, { id: 'b', status: 'queued', steps: 0 }]).ask('a')).toBeUndefined();
  });
});
