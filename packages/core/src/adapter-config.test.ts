import { describe, expect, it } from 'vitest';
import { ConfigError } from './errors.js';
import { matchesTargets, resolveAdapterConfig } from './adapter-config.js';

const good = { rank: 8, learningRate: 1e-3, batchSize: 4, steps: 10 };

function issuesOf(input: unknown): { field: string; reason: string }[] {
  try {
    resolveAdapterConfig(input as never);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return [...(e as ConfigError).issues];
  }
  throw new Error('expected a ConfigError');
}

describe('adapter configuration', () => {
  it('completes defaults: alpha = 2r, AdamW, no dropout or decay', () => {
    const c = resolveAdapterConfig(good);
    expect(c).toMatchObject({ rank: 8, alpha: 16, dropout: 0, weightDecay: 0, seed: 0, targets: [], steps: 10 });
    expect(c.optimizer).toEqual({ type: 'adamw', beta1: 0.9, beta2: 0.999, epsilon: 1e-8 });
    expect(resolveAdapterConfig({ ...good, optimizer: 'sgd' }).optimizer).toEqual({ type: 'sgd', momentum: 0 });
  });

  it.each([
    ['rank', { rank: 0 }],
    ['rank', { rank: 2.5 }],
    ['rank', { rank: 5000 }],
    ['alpha', { alpha: -1 }],
    ['learningRate', { learningRate: 0 }],
    ['learningRate', { learningRate: NaN }],
    ['learningRate', { learningRate: '1e-3' }],
    ['batchSize', { batchSize: 0 }],
    ['batchSize', { batchSize: 1.5 }],
    ['dropout', { dropout: 1 }],
    ['dropout', { dropout: -0.1 }],
    ['weightDecay', { weightDecay: -1 }],
    ['seed', { seed: -3 }],
    ['seed', { seed: 1.2 }],
    ['targets', { targets: 'q_proj' }],
    ['targets[1]', { targets: ['q', ''] }],
    ['optimizer.type', { optimizer: { type: 'adam' } }],
    ['optimizer.beta1', { optimizer: { type: 'adamw', beta1: 1 } }],
    ['optimizer.beta2', { optimizer: { type: 'adamw', beta2: -0.1 } }],
    ['optimizer.epsilon', { optimizer: { type: 'adamw', epsilon: 0 } }],
    ['optimizer.momentum', { optimizer: { type: 'sgd', momentum: 1.5 } }],
    ['steps', { steps: 0 }],
    ['steps', { steps: 10, epochs: 2 }],
    ['epochs', { steps: undefined, epochs: 0.5 }],
    ['lr', { lr: 0.1 }],
  ])('rejects a bad %s, naming it', (field, patch) => {
    const issues = issuesOf({ ...good, ...patch });
    expect(issues.map((i) => i.field)).toContain(field);
    expect(issues.find((i) => i.field === field)!.reason.length).toBeGreaterThan(5);
  });

  it('reports every bad field at once, under a path', () => {
    try {
      resolveAdapterConfig({ rank: -1, learningRate: -1, batchSize: 0 }, 'tasks[0].base');
      throw new Error('not rejected');
    } catch (e) {
      const fields = (e as ConfigError).issues.map((i) => i.field);
      expect(fields).toEqual(expect.arrayContaining(['tasks[0].base.rank', 'tasks[0].base.learningRate', 'tasks[0].base.batchSize', 'tasks[0].base.steps']));
      expect((e as Error).message).toContain('tasks[0].base.rank');
    }
  });

  it('requires steps or epochs', () => {
    expect(issuesOf({ rank: 4, learningRate: 1, batchSize: 1 }).map((i) => i.field)).toContain('steps');
  });

  it('matches targets by exact name, glob and RegExp; empty selects all', () => {
    expect(matchesTargets('block0/q_proj', [])).toBe(true);
    expect(matchesTargets('block0/q_proj', ['block0/q_proj'])).toBe(true);
    expect(matchesTargets('block0/q_proj', ['q_proj'])).toBe(false);
    expect(matchesTargets('block0/q_proj', ['*/q_proj'])).toBe(true);
    expect(matchesTargets('block0/k_proj', [/(q|v)_proj$/])).toBe(false);
    expect(matchesTargets('block3/v_proj', [/(q|v)_proj$/])).toBe(true);
  });
});
