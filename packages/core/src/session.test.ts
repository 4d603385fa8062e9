import { describe, expect, it } from 'vitest';
import { PluginError } from './errors.js';
import { attach } from './hooks.js';
import { KernelRegistry } from './kernel-registry.js';
import { Session } from './session.js';
import { buildSegmentPlan } from './segment-plan.js';
import type { Plugin } from './plugin.js';

const plan = buildSegmentPlan([{ adapter: { name: 'a', rank: 2, scale: 1 }, rows: 3 }]);

describe('session hooks and plugins', () => {
  it('an error thrown by a plugin names the plugin and the hook, and reaches the error hook', () => {
    const s = new Session<number>(() => {});
    const seen: PluginError[] = [];
    s.hooks.error.tap('log', (e) => seen.push(e));
    const bad: Plugin<typeof s> = {
      name: 'flaky-pruner',
      apply: (session) => attach(session.hooks.beforeStep, 'flaky-pruner', () => {
        throw new Error('boom');
      }),
    };
    s.use(bad);
    expect(() => s.hooks.beforeStep.call({ step: 0, plan })).toThrow(/plugin "flaky-pruner" failed in hook "beforeStep": boom/);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ pluginName: 'flaky-pruner', hookName: 'beforeStep' });
  });

  it('async taps are attributed too', async () => {
    const s = new Session<number>(() => {});
    s.hooks.lossReported.tapPromise('reporter', async () => {
      throw new Error('disk full');
    });
    await expect(s.hooks.lossReported.promise({ step: 1, kind: 'train', losses: [] })).rejects.toMatchObject({ pluginName: 'reporter', hookName: 'lossReported' });
  });

  it('detach removes the tap; shutdown detaches plugins in reverse order', async () => {
    const s = new Session<number>(() => {});
    const order: string[] = [];
    const make = (name: string): Plugin<typeof s> => ({
      name,
      apply: (session) => {
        const off = attach(session.hooks.planStep, name, (p) => {
          order.push(name);
          return p;
        });
        return () => {
          off();
          order.push(`detach ${name}`);
        };
      },
    });
    s.use(make('one'));
    const removeTwo = s.use(make('two'));
    s.hooks.planStep.call(plan, 0);
    expect(order).toEqual(['one', 'two']);
    removeTwo();
    s.hooks.planStep.call(plan, 1);
    expect(order).toEqual(['one', 'two', 'detach two', 'one']);
    s.use(make('three'));
    await s.shutdown();
    expect(order.slice(-2)).toEqual(['detach three', 'detach one']);
    expect(s.pluginNames()).toEqual([]);
  });

  it('validates plugins when applied and saves / restores plugin state', () => {
    const s = new Session<number>(() => {});
    expect(() => s.use({ name: '', apply: () => () => {} })).toThrow(/non-empty string/);
    expect(() => s.use({ name: 'x', apply: () => undefined as never })).toThrow(/must return a function/);
    let counter = 5;
    s.use({ name: 'counter', apply: () => () => {}, saveState: () => ({ counter }), loadState: (st) => (counter = (st as { counter: number }).counter) });
    s.step = 12;
    const saved = s.saveState();
    counter = 0;
    s.step = 0;
    s.loadState(saved);
    expect(counter).toBe(5);
    expect(s.step).toBe(12);
  });

  it('SyncBail: the first provider wins', () => {
    const s = new Session<number>(() => {});
    s.hooks.shouldRetire.tap('first', () => undefined);
    s.hooks.shouldRetire.tap('second', () => 'diverging');
    s.hooks.shouldRetire.tap('third', () => 'overfitting');
    const info = { name: 'a', task: 't', trialId: 't0', stepsDone: 1, samplesDone: 1, config: {} as never };
    expect(s.hooks.shouldRetire.call(info, { step: 0, plan })).toBe('diverging');
  });

  it('retiring an adapter releases its tensors and fires adapterRetired with the reason', () => {
    const released: number[] = [];
    const s = new Session<number>((t) => released.push(t));
    const events: string[] = [];
    s.hooks.adapterAdmitted.tap('log', (a) => events.push(`+${a.name}`));
    s.hooks.adapterRetired.tap('log', (a, r) => events.push(`-${a.name}:${r}`));
    s.admit({
      name: 'a', task: 't', trialId: 't0', stepsDone: 0, samplesDone: 0, admittedAtStep: 0, config: {} as never,
      layers: new Map([['q', { A: 1, B: 2 }]]), optimizerState: { slots: [[3, 4], [5, 6]], step: 0 },
    });
    s.retire('a', 'nan');
    expect(released.sort()).toEqual([1, 2, 3, 4, 5, 6]);
    expect(events).toEqual(['+a', '-a:nan']);
    expect(s.bank.size).toBe(0);
  });
});

describe('kernel registry', () => {
  it('resolves the best kernel for a backend, falling back to the one for every backend', () => {
    const r = new KernelRegistry<{ [k: string]: unknown; lora: string }>();
    r.register('lora', '*', 'reference', { priority: 0 });
    const off = r.register('lora', 'wasm', 'native-wasm', { priority: 10 });
    r.register('lora', 'wasm', 'slow-wasm', { priority: 1 });
    expect(r.resolve('lora', 'wasm').impl).toBe('native-wasm');
    expect(r.resolve('lora', 'cpu').impl).toBe('reference');
    off();
    expect(r.resolve('lora', 'wasm').impl).toBe('slow-wasm');
    expect(() => r.resolve('missing' as 'lora', 'cpu')).toThrow(/no kernel "missing"/);
  });
});
