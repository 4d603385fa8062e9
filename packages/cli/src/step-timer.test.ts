import { describe, expect, it, vi } from 'vitest';
import { createSessionHooks } from '@alto/core';
import type { TfjsSession } from '@alto/tfjs';
import { stepTimer } from './step-timer.js';

describe('stepTimer', () => {
  it('gives the median interval between steps after the warm-up and the shape of each step, and stops when detached', () => {
    const hooks = createSessionHooks();
    const session = { hooks } as unknown as TfjsSession;
    const timer = stepTimer(2);
    const detach = timer.apply(session);
    // Step ends at 0, 500 (warm-up), then intervals of 0.1, 0.3, 0.2 and 0.25 s.
    const ends = [0, 500, 1000, 1100, 1400, 1600, 1850];
    const now = vi.spyOn(performance, 'now');
    expect(timer.timing()).toEqual({ count: 0, medianSeconds: null, trace: [] });
    for (const [i, t] of ends.entries()) {
      now.mockReturnValueOnce(t);
      hooks.afterStep.call({ step: i, plan: { segments: [], totalRows: 10 + i, adapters: Array(i % 3 + 1) } as never });
    }
    const timing = timer.timing();
    expect(timing.count).toBe(7);
    expect(timing.medianSeconds).toBe(0.225);
    expect(timing.trace[0]).toEqual([0, 10, 1]);
    expect(timing.trace[6]).toEqual([1.85, 16, 1]);
    expect(timing.trace.map((t) => t[2])).toEqual([1, 2, 3, 1, 2, 3, 1]);
    detach();
    hooks.afterStep.call({ step: 7, plan: {} as never });
    expect(timer.timing().count).toBe(7);
    now.mockRestore();
  });

  it('samples the host parts at each step end into the trace, named by parts', () => {
    const hooks = createSessionHooks();
    const parts = { admit: 0, step: 0 };
    const timer = stepTimer(0, () => parts);
    timer.apply({ hooks } as unknown as TfjsSession);
    for (const [i, [admit, step]] of [[0.1, 0.5], [0.1, 1.25], [0.4, 2]].entries()) {
      Object.assign(parts, { admit, step });
      hooks.afterStep.call({ step: i, plan: { segments: [], totalRows: 4, adapters: [1, 2] } as never });
    }
    const { trace, parts: names } = timer.timing();
    expect(names).toEqual(['admit', 'step']);
    expect(trace.map((r) => r.slice(1))).toEqual([[4, 2, 0.1, 0.5], [4, 2, 0.1, 1.25], [4, 2, 0.4, 2]]);
  });

  it('rejects a bad warm-up', () => {
    expect(() => stepTimer(-1)).toThrow(/warmup must be a non-negative integer/);
  });
});
