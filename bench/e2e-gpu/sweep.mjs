// ALTO's side of bench/e2e-gpu: the single-GPU grid (5 learning rates × ranks 16/32/64 ×
// per-adapter batch 1/2/4/8, α = 2r, LoRA on all seven projections) on the built-in Llama
// model, through `alto tune`, three ways:
//   (a) ALTO with early exit, run in full;
//   (b) ALTO batched without early exit, run in full with --full-b, else for `--time-steps`
//       steps per configuration and computed (× steps / time-steps, labelled);
//   (c) one configuration at a time, run for `--time-steps` steps and computed likewise.
// The task: a 512-token cipher (a random string of letters, then the same string shifted by
// three letters), learnable through the attention projections (a fixed offset back) and the MLP.
//   node bench/e2e-gpu/sweep.mjs OUT [--shape full|tiny] [--backend alto-cuda] [--steps 40]
//        [--time-steps 8] [--eval-every 4] [--early-exit JSON] [--precision bf16] [--memory-mib N]
//        [--fair-share-lead 2] [--full-b] [--valid-rows 32] [--ways a,b,c] [--profile-step N] [--cli PATH]
// Writes OUT/alto.json, or OUT/alto-<ways>.json for some of the ways (each way's summary.json
// under OUT/<way>/).
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const { values: opts, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    shape: { type: 'string', default: 'full' },
    backend: { type: 'string', default: 'alto-cuda' },
    steps: { type: 'string', default: '40' },
    'time-steps': { type: 'string', default: '8' },
    precision: { type: 'string', default: 'bf16' },
    'memory-mib': { type: 'string', default: '0' },
    'fair-share-lead': { type: 'string', default: '2' },
    'full-b': { type: 'boolean', default: false },
    cli: { type: 'string', default: new URL('../../packages/cli/dist/main.js', import.meta.url).pathname },
    rows: { type: 'string', default: '512' },
    'eval-every': { type: 'string', default: '4' },
    'valid-rows': { type: 'string', default: '32' },
    // Which ways to run (a device command has 10 minutes): e.g. "a", then "b,c"; each run
    // writes OUT/alto-<ways>.json, and report.mjs merges them.
    ways: { type: 'string', default: 'a,b,c' },
    // Time every kernel of this executor step of way (b) (alto tune --profile-step); 0: none.
    'profile-step': { type: 'string', default: '0' },
    // Early-exit options of way (a) as JSON (default: ALTO's defaults), e.g. the paper's cut
    // without the noise band: '{"cutBand":0,"cutNoiseSigmas":0,"deferRank":false,"rankCautionBand":0}'.
    'early-exit': { type: 'string', default: '{}' },
  },
});
const out = resolve(positionals[0] ?? 'e2e-out');
const SHAPES = {
  // The issue's ~1.1 B shape.
  full: { dModel: 2048, layers: 16, heads: 32, kvHeads: 8, ffn: 8192, vocab: 32000, context: 512 },
  // A check of the whole procedure on any machine.
  tiny: { dModel: 64, layers: 2, heads: 4, kvHeads: 2, ffn: 96, vocab: 64, context: 24 },
};
const shape = SHAPES[opts.shape];
if (!shape) throw new RangeError(`--shape must be ${Object.keys(SHAPES).join(' or ')}`);
const steps = Number(opts.steps), timeSteps = Number(opts['time-steps']), rows = Number(opts.rows), evalEvery = Number(opts['eval-every']), validRows = Number(opts['valid-rows']);
const ways = opts.ways.split(',');
const profileStep = Number(opts['profile-step']);
if (!Number.isInteger(profileStep) || profileStep < 0) throw new RangeError('--profile-step must be a step number (0: none)');
if (ways.length === 0 || ways.some((w) => !['a', 'b', 'c'].includes(w))) throw new RangeError('--ways must list a, b and/or c (e.g. "a" or "b,c")');
for (const [name, v] of [['--steps', steps], ['--time-steps', timeSteps], ['--rows', rows], ['--eval-every', evalEvery], ['--valid-rows', validRows]]) {
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`${name} must be a positive integer`);
}
if (timeSteps > steps) throw new RangeError('--time-steps must not exceed --steps');

// The cipher task: BOS + prompt + completion + EOS fill the context.
const letters = 'abcdefghijklmnopqrstuvwxyz';
const half = (shape.context - 2) >> 1;
let seed = 12345;
const random = () => ((seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32);
const example = () => {
  const prompt = Array.from({ length: half }, () => letters[Math.floor(random() * 26)]).join('');
  const completion = [...prompt].map((c) => letters[(letters.indexOf(c) + 3) % 26]).join('');
  return JSON.stringify({ prompt, completion });
};
mkdirSync(join(out, 'task'), { recursive: true });
writeFileSync(join(out, 'task', 'train.jsonl'), `${Array.from({ length: rows }, example).join('\n')}\n`);
writeFileSync(join(out, 'task', 'valid.jsonl'), `${Array.from({ length: 64 }, example).join('\n')}\n`);

const GRID = { learningRate: [1e-5, 5e-5, 2e-4, 3e-4, 5e-4], rank: [16, 32, 64], batchSize: [1, 2, 4, 8], alpha: '2r' };
const config = (taskSteps) => ({
  model: { builtin: 'llama', seed: 7, ...shape },
  backend: opts.backend,
  cuda: opts.backend === 'alto-cuda' ? { matmulPrecision: opts.precision } : {},
  tasks: [{ name: 'cipher', data: { train: join(out, 'task', 'train.jsonl'), valid: join(out, 'task', 'valid.jsonl') }, metric: 'loss', searchSpace: GRID, targets: ['*_proj'], steps: taskSteps }],
  evalEvery,
  earlyExit: JSON.parse(opts['early-exit']),
  validRows,
  metricRows: 32,
  maxAdapters: 60,
  memoryBudgetMiB: Number(opts['memory-mib']),
  fairShareLead: Number(opts['fair-share-lead']),
  seed: 0,
});

function tune(way, taskSteps, flags) {
  const dir = join(out, way);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'alto.json'), JSON.stringify(config(taskSteps), null, 1));
  const run = spawnSync(process.execPath, [opts.cli, 'tune', '--config', join(dir, 'alto.json'), '--out', dir, ...flags], { encoding: 'utf8', maxBuffer: 1 << 28 });
  writeFileSync(join(dir, 'log.txt'), `${run.stdout}\n${run.stderr}`);
  if (run.status !== 0) throw new Error(`way ${way} failed (exit ${run.status}): ${run.stderr.split('\n').slice(-8).join('\n')}`);
  return JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8'));
}

const tokens = (s) => s.samplesTrained * shape.context;
const way = (s, ranSteps) => {
  const scale = steps / ranSteps;
  const best = s.tasks[0].best;
  return {
    mode: s.mode,
    ranStepsPerConfig: ranSteps,
    wallSeconds: s.wallSeconds,
    sweepSeconds: s.wallSeconds * scale,
    computed: ranSteps < steps,
    executorSteps: s.executorSteps,
    hostSeconds: s.hostSeconds ?? null,
    outOfMemory: s.outOfMemory ?? [],
    samplesTrained: s.samplesTrained,
    samplesBudget: s.samplesBudget,
    tokensPerSecond: tokens(s) / s.wallSeconds,
    bestValLoss: ranSteps === steps ? best?.valLoss ?? null : null,
    bestConfig: ranSteps === steps ? best?.config ?? null : null,
    exits: s.tasks[0].trials.filter((t) => t.status === 'exited').length,
  };
};

const started = Date.now();
const results = {};
if (ways.includes('a')) {
  results.a = way(tune('a', steps, []), steps);
  console.log(`(a) ALTO, early exit: ${results.a.wallSeconds.toFixed(1)} s, best val loss ${results.a.bestValLoss}`);
}
if (ways.includes('b')) {
  const bSteps = opts['full-b'] ? steps : timeSteps;
  results.b = way(tune('b', bSteps, ['--no-early-exit', ...(profileStep > 0 ? ['--profile-step', String(profileStep)] : [])]), bSteps);
  if (profileStep > 0) {
    // The kernels that took most of the profiled step, for the result file.
    const p = JSON.parse(readFileSync(join(out, 'b', 'kernel-profile.json'), 'utf8'));
    results.b.kernelProfile = { step: p.step, wallMs: p.wallMs, kernelMs: p.kernelMs, kernels: p.kernels.slice(0, 20) };
  }
  console.log(`(b) ALTO batched: ${results.b.sweepSeconds.toFixed(1)} s${results.b.computed ? ' (computed)' : ''}`);
}
if (ways.includes('c')) {
  results.c = way(tune('c', timeSteps, ['--sequential']), timeSteps);
  console.log(`(c) one at a time: ${results.c.sweepSeconds.toFixed(1)} s (computed)`);
}
const doc = {
  date: new Date().toISOString(),
  backend: opts.backend,
  precision: opts.backend === 'alto-cuda' ? opts.precision : null,
  shape,
  grid: GRID,
  stepsPerConfig: steps,
  earlyExit: JSON.parse(opts['early-exit']),
  configurations: 60,
  validRows,
  evalEvery,
  ways: results,
  wallSeconds: (Date.now() - started) / 1000,
};
const file = join(out, ways.length === 3 ? 'alto.json' : `alto-${ways.join('')}.json`);
writeFileSync(file, `${JSON.stringify(doc, null, 1)}\n`);
console.log(`written ${file}`);
