import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '@alto/core';
import { DEFAULT_CONFIG, readConfigFile, validateConfig } from './config.js';

const task = { name: 'add', data: 'builtin:add', metric: 'exact_match', searchSpace: { learningRate: [1e-3] }, steps: 10 };

function fieldsOf(raw: unknown): string[] {
  try {
    validateConfig(raw, '/tmp');
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).issues.map((i) => i.field);
  }
  throw new Error('expected a ConfigError');
}

describe('alto tune configuration', () => {
  it('the embedded default has at least 3 tasks of 24 or more configurations', () => {
    expect(DEFAULT_CONFIG.tasks.length).toBeGreaterThanOrEqual(3);
    for (const t of DEFAULT_CONFIG.tasks) {
      const s = t.searchSpace as Record<string, unknown[]>;
      expect(s.learningRate.length * s.rank.length * s.batchSize.length).toBeGreaterThanOrEqual(24);
    }
    expect(validateConfig({})).toEqual(DEFAULT_CONFIG);
  });

  it.each([
    ['model', { model: 'builtin:huge' }],
    ['model', { model: 7 }],
    ['model.builtin', { model: { builtin: 'gpt' } }],
    ['model.kvHeads', { model: { builtin: 'llama', heads: 4, kvHeads: 3 } }],
    ['model.layers', { model: { builtin: 'llama', layers: 0 } }],
    ['model.weights', { model: { builtin: 'llama', weights: 'w.bin' } }],
    ['tasks[0].targets', { tasks: [{ ...task, targets: 'q_proj' }] }],
    ['backend', { backend: 'webgpu' }],
    ['cuda', { cuda: 'bf16' }],
    ['cuda.matmulPrecision', { backend: 'alto-cuda', cuda: { matmulPrecision: 'fp16' } }],
    ['cuda.device', { cuda: { device: -1 } }],
    ['cuda.colour', { cuda: { colour: 'red' } }],
    ['tasks', { tasks: [] }],
    ['tasks[0].name', { tasks: [{ ...task, name: 'a b' }] }],
    ['tasks[1].name', { tasks: [task, task] }],
    ['tasks[0].data', { tasks: [{ ...task, data: 'builtin:nope' }] }],
    ['tasks[0].data', { tasks: [{ ...task, data: 'add' }] }],
    ['tasks[0].data.train', { tasks: [{ ...task, data: { train: 'x.csv', valid: 'v.jsonl' } }] }],
    ['tasks[0].data.valid', { tasks: [{ ...task, data: { train: 'x.jsonl' } }] }],
    ['tasks[0].metric', { tasks: [{ ...task, metric: 'f1' }] }],
    ['tasks[0].steps', { tasks: [{ ...task, steps: 0 }] }],
    ['tasks[0].searchSpace', { tasks: [{ ...task, searchSpace: [1] }] }],
    ['tasks[0].lr', { tasks: [{ ...task, lr: 1 }] }],
    ['earlyExit.keepRatio', { earlyExit: { keepRatio: 2 } }],
    ['earlyExit.bogus', { earlyExit: { bogus: 1 } }],
    ['evalEvery', { evalEvery: 0 }],
    ['maxAdapters', { maxAdapters: -1 }],
    ['fairShareLead', { fairShareLead: 1.5 }],
    ['epochs', { epochs: 3 }],
  ])('names the bad field %s', (field, raw) => {
    expect(fieldsOf(raw)).toContain(field);
  });

  it('takes the CUDA backend and its options', () => {
    const c = validateConfig({ backend: 'alto-cuda', cuda: { matmulPrecision: 'bf16', device: 0 }, tasks: [task] }, '/tmp');
    expect(c.backend).toBe('alto-cuda');
    expect(c.cuda).toEqual({ matmulPrecision: 'bf16', device: 0 });
  });

  it('reports all bad fields together, and reads YAML and JSON files', async () => {
    expect(fieldsOf({ backend: 'x', evalEvery: -1, tasks: [{ ...task, metric: 'f1', steps: 'ten' }] })).toEqual(
      expect.arrayContaining(['backend', 'evalEvery', 'tasks[0].metric', 'tasks[0].steps']),
    );
    const dir = await mkdtemp(join(tmpdir(), 'alto-cfg-'));
    await writeFile(join(dir, 'c.yaml'), 'model: builtin:tiny\nearlyExit: false\ntasks:\n  - name: mine\n    data: { train: t.jsonl, valid: v.jsonl }\n    searchSpace: { learningRate: [0.01], rank: [4] }\n');
    const c = await readConfigFile(join(dir, 'c.yaml'));
    expect(c.earlyExit).toBe(false);
    expect(c.tasks[0].data).toEqual({ train: join(dir, 't.jsonl'), valid: join(dir, 'v.jsonl') });
    await writeFile(join(dir, 'bad.json'), '{ "tasks": [ }');
    await expect(readConfigFile(join(dir, 'bad.json'))).rejects.toThrow(/--config: .*not valid JSON/);
  });
});
