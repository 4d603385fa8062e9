// The embedded default `alto tune` run, several ways in one script, each as its own process:
// sequential (one trial at a time), batched without early exit, ALTO (batched + early exit
// with this project's defaults), and ALTO with the paper's exact settings (to measure what
// the options beyond the paper change). Writes result.json and result.md beside this file.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { PAPER_DEFAULTS } from '@alto/early-exit';
import { runInfo } from '../env.mjs';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));
const work = await mkdtemp(join(tmpdir(), 'alto-sweep-'));
const paperConfig = join(work, 'paper.json');
await writeFile(paperConfig, JSON.stringify({ earlyExit: { ...PAPER_DEFAULTS, evalEvery: 4 } }));

const ways = [
  { name: 'sequential', args: ['--sequential'] },
  { name: 'batched', args: ['--no-early-exit'] },
  { name: 'alto', args: [] },
  { name: 'alto-paper-settings', args: ['--config', paperConfig] },
];
// With way names as arguments only those run; the others keep their earlier figures (each way
// records the commit and date it ran at).
const only = process.argv.slice(2);
const here = fileURLToPath(new URL('.', import.meta.url));
const previous = only.length > 0 && existsSync(join(here, 'result.json')) ? JSON.parse(await readFile(join(here, 'result.json'), 'utf8')).results : {};
const results = { ...previous };
for (const way of ways.filter((w) => only.length === 0 || only.includes(w.name))) {
  const out = join(work, way.name);
  const t0 = performance.now();
  await run(process.execPath, ['packages/cli/dist/main.js', 'tune', '--out', out, ...way.args], { cwd: root, maxBuffer: 1 << 26 });
  const processSeconds = (performance.now() - t0) / 1000;
  const summary = JSON.parse(await readFile(join(out, 'summary.json'), 'utf8'));
  const info = runInfo();
  results[way.name] = {
    commit: info.commit,
    date: info.date,
    trainSeconds: summary.wallSeconds,
    processSeconds,
    samplesTrained: summary.samplesTrained,
    samplesBudget: summary.samplesBudget,
    tasks: Object.fromEntries(summary.tasks.map((t) => [t.name, { best: t.best?.trial ?? null, config: t.best?.config ?? null, bestMetric: t.best?.metricValue ?? null, bestValLoss: t.best?.valLoss ?? null, exits: countReasons(t.trials) }])),
  };
  console.log(`${way.name}: ${summary.wallSeconds.toFixed(1)} s training, ${processSeconds.toFixed(1)} s in all, ${summary.samplesTrained} / ${summary.samplesBudget} samples`);
}

function countReasons(trials) {
  const c = {};
  for (const t of trials) c[t.reason ?? t.status] = (c[t.reason ?? t.status] ?? 0) + 1;
  return c;
}

const seq = results.sequential;
const ratios = {};
for (const [name, r] of Object.entries(results)) {
  if (!seq || name === 'sequential') continue;
  ratios[name] = {
    speedupTrainVsSequential: seq.trainSeconds / r.trainSeconds,
    speedupProcessVsSequential: seq.processSeconds / r.processSeconds,
    samplesSaved: 1 - r.samplesTrained / r.samplesBudget,
    bestMetricDeltaPpVsSequential: Object.fromEntries(Object.entries(r.tasks).map(([task, t]) => [task, 100 * ((t.bestMetric ?? 0) - (seq.tasks[task]?.bestMetric ?? 0))])),
  };
}
const ordered = Object.fromEntries(ways.filter((w) => results[w.name]).map((w) => [w.name, results[w.name]]));
const result = { ...runInfo(), what: 'embedded default of alto tune (builtin:tiny, tasks add/reverse/sentiment, 24 configurations each, 120 steps, wasm backend)', results: ordered, ratios };
await writeFile(join(here, 'result.json'), JSON.stringify(result, null, 2) + '\n');

const lines = [
  `# bench/sweep — ${result.date}`,
  '',
  `Device: ${result.device}; Node ${result.node}; commit ${result.commit}.`,
  '',
  'Each way ran as its own `alto tune` process; commit and date per way are in result.json.',
  '',
  '| way | training s | process s | samples trained / budget | ' + Object.keys(Object.values(results)[0].tasks).map((t) => `${t} best (exact match)`).join(' | ') + ' |',
  '|---|---|---|---|' + Object.keys(Object.values(results)[0].tasks).map(() => '---').join('|') + '|',
  ...Object.entries(ordered).map(([name, r]) => `| ${name} | ${r.trainSeconds.toFixed(1)} | ${r.processSeconds.toFixed(1)} | ${r.samplesTrained} / ${r.samplesBudget} | ` + Object.values(r.tasks).map((t) => `${t.best} (${t.bestMetric === null ? '—' : (100 * t.bestMetric).toFixed(1) + '%'})`).join(' | ') + ' |'),
  '',
  ...Object.entries(ratios).map(([name, q]) => `- ${name}: ${q.speedupTrainVsSequential.toFixed(2)}× faster than sequential in training time (${q.speedupProcessVsSequential.toFixed(2)}× in whole-process time), ${(100 * q.samplesSaved).toFixed(1)}% of samples saved; best metric vs sequential: ${Object.entries(q.bestMetricDeltaPpVsSequential).map(([t, d]) => `${t} ${d >= 0 ? '+' : ''}${d.toFixed(1)} pp`).join(', ')}`),
  '',
];
await writeFile(join(here, 'result.md'), lines.join('\n'));
console.log(lines.join('\n'));
