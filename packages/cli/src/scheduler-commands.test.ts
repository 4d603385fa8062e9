import { describe, expect, it } from 'vitest';
import { searchSamples } from './scheduler-commands.js';

describe('alto submit', () => {
  it('takes the dataset size of a task from its alto tune config: every configuration to the end', () => {
    const config = { tasks: [{ name: 'rev', data: 'builtin:reverse', searchSpace: { learningRate: [0.01, 0.02], batchSize: [4, 8] }, steps: 10 }] };
    expect(searchSamples(config, process.cwd())).toBe(2 * (4 + 8) * 10);
  });
});
