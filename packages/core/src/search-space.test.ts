import { describe, expect, it } from 'vitest';
import { ConfigError } from './errors.js';
import { expandSearchSpace } from './search-space.js';

const base = { steps: 10 };

describe('search spaces', () => {
  it('grid: the cartesian product, with α as a multiple of the rank', () => {
    const trials = expandSearchSpace({ learningRate: [1e-4, 1e-3], rank: [4, 8, 16], batchSize: [1, 2], alpha: '2r' }, base);
    expect(trials).toHaveLength(12);
    expect(trials.map((t) => t.id)).toEqual(trials.map((_, i) => `t${String(i).padStart(2, '0')}`));
    for (const t of trials) expect(t.config.alpha).toBe(2 * t.config.rank);
    const keys = new Set(trials.map((t) => `${t.config.learningRate}/${t.config.rank}/${t.config.batchSize}`));
    expect(keys.size).toBe(12);
  });

  it('removes duplicates (α 16 fixed and "2r" at rank 8 are the same point)', () => {
    const trials = expandSearchSpace({ rank: [8], alpha: [16, '2r'], learningRate: [1e-3, 1e-3] }, { ...base, batchSize: 2 });
    expect(trials).toHaveLength(1);
  });

  it('random: seeded, log-uniform learning rates inside the bounds, distinct points', () => {
    const space = { learningRate: { logUniform: [1e-5, 1e-2] as const }, rank: [4, 8], batchSize: [2] };
    const a = expandSearchSpace(space, base, { type: 'random', samples: 20, seed: 7 });
    const b = expandSearchSpace(space, base, { type: 'random', samples: 20, seed: 7 });
    const c = expandSearchSpace(space, base, { type: 'random', samples: 20, seed: 8 });
    expect(a.map((t) => t.config)).toEqual(b.map((t) => t.config));
    expect(a.map((t) => t.config.learningRate)).not.toEqual(c.map((t) => t.config.learningRate));
    expect(a).toHaveLength(20);
    const lrs = a.map((t) => t.config.learningRate);
    for (const lr of lrs) expect(lr >= 1e-5 && lr <= 1e-2).toBe(true);
    // log-uniform: about as many below 1e-3.5 as above
    const below = lrs.filter((lr) => lr < Math.pow(10, -3.5)).length;
    expect(below).toBeGreaterThan(3);
    expect(below).toBeLessThan(17);
    expect(new Set(lrs).size).toBe(20);
  });

  it('random search over a small finite space returns each point once', () => {
    const trials = expandSearchSpace({ rank: [4, 8], learningRate: [1e-3] }, { ...base, batchSize: 1 }, { type: 'random', samples: 50, seed: 1 });
    expect(trials).toHaveLength(2);
  });

  it.each([
    ['searchSpace.learningRate', { learningRate: { logUniform: [1e-3, 1e-5] } }],
    ['searchSpace.learningRate', { learningRate: { logUniform: [1e-5, 1e-3] } }], // needs random search
    ['searchSpace.rank[1]', { rank: [4, 2.5] }],
    ['searchSpace.rank', { rank: [] }],
    ['searchSpace.alpha[0]', { alpha: ['2x'] }],
    ['searchSpace.momentum', { momentum: [0.9] }],
    ['searchSpace.batchSize', { batchSize: [0] }],
  ])('names the bad field %s', (field, space) => {
    try {
      expandSearchSpace(space as never, { ...base, rank: 4, learningRate: 1e-3, batchSize: 1 });
      throw new Error('not rejected');
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      expect((e as ConfigError).issues.map((i) => i.field)).toContain(field);
    }
  });
});
