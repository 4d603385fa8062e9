import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { decodeSafetensors } from '@alto/core';

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));
const alto = (args: string[]) => run(process.execPath, ['packages/cli/dist/main.js', ...args], { cwd: root, maxBuffer: 1 << 24 });

async function tinyConfig(dir: string, extra: Record<string, unknown> = {}) {
  await writeFile(join(dir, 'train.jsonl'), ['12+3=|15', '4+4=|8', '20+5=|25', '7+1=|8', '9+9=|18', '3+30=|33'].map((l) => JSON.stringify({ prompt: l.split('|')[0], completion: l.split('|')[1] })).join('\n'));
  await writeFile(join(dir, 'valid.jsonl'), ['2+2=|4', '10+1=|11'].map((l) => JSON.stringify({ prompt: l.split('|')[0], completion: l.split('|')[1] })).join('\n'));
  const config = {
    tasks: [
      { name: 'own', data: { train: 'train.jsonl', valid: 'valid.jsonl' }, searchSpace: { learningRate: [0.01, 0.03], rank: [2, 4], batchSize: [2, 3] }, steps: 12 },
      { name: 'rev', data: 'builtin:reverse', searchSpace: { learningRate: [0.02], rank: [3], dropout: [0.1] }, steps: 12 },
    ],
    maxAdapters: 3, validRows: 16, metricRows: 16, evalEvery: 3, ...extra,
  };
  await writeFile(join(dir, 'alto.json'), JSON.stringify(config));
  return join(dir, 'alto.json');
}

const readSummary = async (out: string) => JSON.parse(await readFile(join(out, 'summary.json'), 'utf8'));

describe('alto tune, end to end as a separate process', () => {
  it('runs a tiny config with early exit and writes summary.json, report.html and the best adapters', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'alto-cli-'));
    const { stdout } = await alto(['tune', '--config', await tinyConfig(dir), '--out', join(dir, 'out'), '--profile-step', '3']);
    expect(stdout).toMatch(/admit {3}own\/t\d+/); // plain event lines when not a terminal
    expect(stdout).toMatch(/alto run on wasm/);
    const s = await readSummary(join(dir, 'out'));
    expect(s).toMatchObject({ version: '0.1.0', backend: 'wasm', mode: 'alto' });
    expect(s.earlyExit).toMatchObject({ keepRatio: 0.25 });
    expect(s.samplesBudget).toBe(8 * 12 * 2.5 + 12 * 8);
    expect(s.samplesTrained).toBeLessThanOrEqual(s.samplesBudget);
    expect(s.outOfMemory).toEqual([]); // no step ran out of memory here
    expect(s.executorSteps.count).toBeGreaterThan(4);
    expect(s.executorSteps.medianSeconds).toBeGreaterThan(0);
    // where the host's time went: every part measured, steps took some, all within the run
    expect(Object.keys(s.hostSeconds).sort()).toEqual(['admit', 'evaluate', 'pause', 'readLosses', 'settle', 'step']);
    // the trace samples those parts at each step's end: they only grow, up to the run's totals
    const { trace, parts: traced } = s.executorSteps as { trace: number[][]; parts: string[] };
    expect(traced).toEqual(Object.keys(s.hostSeconds));
    traced.forEach((name, j) => {
      const column = trace.map((row) => row[3 + j]);
      expect(column.every((v, i) => i === 0 || v >= column[i - 1])).toBe(true);
      expect(column[column.length - 1]).toBeLessThanOrEqual(s.hostSeconds[name] + 1e-3);
    });
    expect(s.hostSeconds.step).toBeGreaterThan(0);
    expect(s.hostSeconds.readLosses).toBeGreaterThan(0);
    const parts = Object.values(s.hostSeconds as Record<string, number>);
    expect(parts.every((v) => v >= 0)).toBe(true);
    expect(parts.reduce((x, y) => x + y, 0)).toBeLessThanOrEqual(s.wallSeconds + 1e-6);
    expect(s.tasks.map((t: { name: string }) => t.name)).toEqual(['own', 'rev']);
    for (const t of s.tasks) {
      expect(t.metric).toBe('exact_match');
      expect(t.best).not.toBeNull();
      for (const trial of t.trials) {
        expect(['completed', 'exited']).toContain(trial.status);
        expect([null, 'diverging', 'overfitting', 'underperforming', 'nan', 'error']).toContain(trial.reason);
        expect(Object.keys(trial).sort()).toEqual(['bestValLoss', 'config', 'id', 'metricValue', 'reason', 'samples', 'status', 'steps']);
      }
      const best = join(dir, 'out', 'adapters', t.name, t.best.trial);
      const cfg = JSON.parse(await readFile(join(best, 'adapter_config.json'), 'utf8'));
      expect(cfg).toMatchObject({ peft_type: 'LORA', r: t.best.config.rank, lora_alpha: t.best.config.alpha });
      expect(cfg.target_modules).toContain('block0/q');
    }
    const profile = JSON.parse(await readFile(join(dir, 'out', 'kernel-profile.json'), 'utf8'));
    expect(profile).toMatchObject({ step: 3, backend: 'wasm' });
    const names = profile.kernels.map((k: { name: string }) => k.name);
    expect(names).toContain('BatchMatMul');
    expect(profile.kernels.find((k: { name: string }) => k.name === 'BatchMatMul').calls).toBeGreaterThan(4);
    expect(profile.kernelMs).toBeGreaterThan(0);
    expect(profile.wallMs).toBeGreaterThan(0);
    const html = await readFile(join(dir, 'out', 'report.html'), 'utf8');
    expect(html).toContain('<svg');
    expect(html).toContain('ALTO tuning report');
    expect(html).not.toMatch(/<script|https?:\/\//);
  });

  it('--sequential and --no-early-exit train the same adapters', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'alto-cli-'));
    const config = await tinyConfig(dir);
    await alto(['tune', '--config', config, '--out', join(dir, 'seq'), '--sequential', '--save-all']);
    await alto(['tune', '--config', config, '--out', join(dir, 'bat'), '--no-early-exit', '--save-all']);
    const seq = await readSummary(join(dir, 'seq'));
    const bat = await readSummary(join(dir, 'bat'));
    expect(seq.mode).toBe('sequential');
    expect(bat.mode).toBe('batched');
    expect(bat.samplesTrained).toBe(bat.samplesBudget);
    let compared = 0;
    for (const t of bat.tasks) {
      for (const trial of t.trials) {
        expect(trial.status).toBe('completed');
        const load = async (mode: string) => decodeSafetensors(new Uint8Array(await readFile(join(dir, mode, 'adapters', t.name, trial.id, 'adapter_model.safetensors')))).tensors;
        const [a, b] = [await load('seq'), await load('bat')];
        for (const name of Object.keys(b)) {
          let num = 0;
          let den = 0;
          b[name].data.forEach((v, i) => {
            num = Math.max(num, Math.abs(v - a[name].data[i]));
            den = Math.max(den, Math.abs(v));
          });
          expect(num / Math.max(den, 1e-30), `${t.name}/${trial.id} ${name}`).toBeLessThanOrEqual(1e-4);
          compared++;
        }
      }
    }
    expect(compared).toBe((8 + 1) * (2 * 6 + 1) * 2); // 9 trials × 13 layers × (A, B)
  });

  it('tunes the built-in Llama-shaped model (random weights), LoRA on its seven projections, saved in PEFT names', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'alto-cli-llama-'));
    const config = {
      model: { builtin: 'llama', dModel: 32, layers: 2, heads: 4, kvHeads: 2, ffn: 64, context: 24, seed: 3 },
      tasks: [{ name: 'rev', data: 'builtin:reverse', searchSpace: { learningRate: [0.01, 0.03], rank: [4] }, targets: ['*_proj'], steps: 12 }],
      maxAdapters: 2, validRows: 8, metricRows: 8, evalEvery: 4,
    };
    await writeFile(join(dir, 'alto.json'), JSON.stringify(config));
    await alto(['tune', '--config', join(dir, 'alto.json'), '--out', join(dir, 'out')]);
    const summary = await readSummary(join(dir, 'out'));
    const best = summary.tasks[0].best;
    expect(summary.tasks[0].trials).toHaveLength(2);
    const tensors = decodeSafetensors(new Uint8Array(await readFile(join(dir, 'out', 'adapters', 'rev', best.trial, 'adapter_model.safetensors')))).tensors;
    const modules = new Set(Object.keys(tensors).map((k) => k.replace(/^base_model\.model\.model\.layers\.\d+\./, '').replace(/\.lora_[AB]\.weight$/, '')));
    expect([...modules].sort()).toEqual(['mlp.down_proj', 'mlp.gate_proj', 'mlp.up_proj', 'self_attn.k_proj', 'self_attn.o_proj', 'self_attn.q_proj', 'self_attn.v_proj']);
    expect(Object.keys(tensors)).toContain('base_model.model.model.layers.1.self_attn.k_proj.lora_B.weight');
    expect(tensors['base_model.model.model.layers.1.self_attn.k_proj.lora_B.weight'].shape).toEqual([16, 4]); // 2 kv heads × 8
  }, 120_000);

  it('rejects a bad config before any work, naming every bad field, with exit code 2', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'alto-cli-'));
    const config = await tinyConfig(dir, { backend: 'gpu', evalEvery: 0 });
    const bad = JSON.parse(await readFile(config, 'utf8'));
    bad.tasks[0].searchSpace.rank = [0];
    await writeFile(config, JSON.stringify(bad));
    const err = await alto(['tune', '--config', config, '--out', join(dir, 'o')]).catch((e) => e);
    expect(err.code).toBe(2);
    expect(err.stderr).toContain('backend: must be one of wasm, cpu, tensorflow, alto-cuda');
    expect(err.stderr).toContain('evalEvery');
    const step = await alto(['tune', '--config', config, '--profile-step', 'first']).catch((e) => e);
    expect(step.code).toBe(2);
    expect(step.stderr).toContain('--profile-step: must be a step number (1 = the first), got "first"');
    const flag = await alto(['tune', '--bogus']).catch((e) => e);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toMatch(/Unknown option '--bogus'/);
    // a bad line in a data file is named with its file and line
    await writeFile(join(dir, 'train.jsonl'), '{"prompt": "1+1=", "completion": "2"}\n{"prompt": "ABC", "completion": "x"}\n');
    const good = JSON.parse(await readFile(config, 'utf8'));
    delete good.backend;
    delete good.evalEvery;
    good.tasks[0].searchSpace.rank = [2];
    await writeFile(config, JSON.stringify(good));
    const data = await alto(['tune', '--config', config, '--out', join(dir, 'o')]).catch((e) => e);
    expect(data.code).toBe(2);
    expect(data.stderr).toMatch(/tasks\[0\]\.data\.train \(.*train\.jsonl:2\): uses characters outside the built-in vocabulary/);
  });
});
