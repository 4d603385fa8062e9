import { describe, expect, it, vi } from 'vitest';
import { createSessionHooks } from '@alto/core';
import type { TfjsSession } from '@alto/tfjs';
import { stepTimer } from './step-timer.js';

describe('stepTimer', () => {
  it('gives the median interval between steps after the warm-up, and stops when detached', () => {
    const hooks = createSessionHooks();
    const session = { hooks } as unknown as TfjsSession;
    const timer = stepTimer(2);
    const detach = timer.apply(session);
    // Step ends at 0, 500 (warm-up), then intervals of 0.1, 0.3, 0.2 and 0.25 s.
    const ends = [0, 500, 1000, 1100, 1400, 1600, 1850];
    const now = vi.spyOn(performance, 'now');
    expect(timer.timing()).toEqual({ count: 0, medianSeconds: null });
    for (const t of ends) {
      now.mockReturnValueOnce(t);
      hooks.afterStep.call({ step: 0, plan: { segments: [], totalRows: 0, adapters: [] } as never });
    }
    expect(timer.timing()).toEqual({ count: 7, medianSeconds: 0.225 });
    detach();
    hooks.afterStep.call({ step: 7, plan: {} as never });
    expect(timer.timing().count).toBe(7);
    now.mockRestore();
  });

  it('rejects a bad warm-up', () => {
    expect(() => stepTimer(-1)).toThrow(/warmup must be a non-negative integer/);
  });
});
