// Files one device run of bench/e2e-gpu (DIR holds alto.json from sweep.mjs and peft.json from
// peft_peer.py) as result.json and result.md beside this script, with the commit. A run of
// some of ALTO's ways (way (a) at least) is filed with the others marked as not run.
//   node bench/e2e-gpu/report.mjs DIR [GPU name]
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runInfo } from '../env.mjs';

const dir = process.argv[2];
const gpu = process.argv[3] ?? 'NVIDIA H200';
// A batched step timed kernel by kernel: from (b) itself, or from alto-profile.json, a short
// run of (b) of its own (sweep.mjs --ways b --profile-step N) so that the filed (b) is not slowed
// by the profiled step's synchronisations.
// alto.json, or the alto-<ways>.json of runs of some ways each (same grid and settings).
const parts = readdirSync(dir).filter((f) => /^alto(-[abc]+)?\.json$/.test(f)).sort().map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')));
if (parts.length === 0) throw new Error(`${dir} holds no alto.json or alto-<ways>.json`);
const alto = { ...parts[0], ways: Object.assign({}, ...parts.map((p) => p.ways)) };
if (!alto.ways.a) throw new Error(`no run of way (a) in ${dir}`);
const peft = JSON.parse(readFileSync(join(dir, 'peft.json'), 'utf8'));
const { commit } = runInfo();
// A step out of memory, as alto tune records it (bytes in GiB; '?' where not counted).
const gib = (b) => (b === null || b === undefined ? '?' : (b / 2 ** 30).toFixed(1));
const oomText = (r) => `step ${r.step}, ${r.rows} rows of ${r.adapters} adapters: ${gib(r.predictedBytes)} / ${r.allowedBytes === null ? 'unbounded' : gib(r.allowedBytes)} / ${gib(r.reachedBytes)}${r.reservedBytes == null ? '' : ` / ${gib(r.reservedBytes)}`} GiB`;
const BF16_PEAK = 989e12; // H100/H200 SXM dense bf16, as peft_peer.py
const { shape, stepsPerConfig: steps, grid } = alto;
const seq = shape.context;

// Parameters of the frozen base and of one configuration's LoRA weights (the seven projections).
const dh = shape.dModel / shape.heads, kvd = shape.kvHeads * dh;
const projections = [[shape.dModel, shape.dModel], [shape.dModel, kvd], [shape.dModel, kvd], [shape.dModel, shape.dModel], [shape.dModel, shape.ffn], [shape.dModel, shape.ffn], [shape.ffn, shape.dModel]];
const baseParams = 2 * shape.vocab * shape.dModel + shape.layers * (projections.reduce((n, [i, o]) => n + i * o, 0) + 2 * shape.dModel) + shape.dModel;
const loraParams = (r) => shape.layers * projections.reduce((n, [i, o]) => n + r * (i + o), 0);
// The FLOPs of peft_peer.py's step_flops: forward 2N and backward 2N per token (the input
// gradient only: the base is frozen), 6n for the LoRA weights, attention scores 4·L·T·d per
// token forward, ×3 with the backward. PEFT's MFU is recomputed from its tokens/s with this
// count (peer files before 2026-11-30 counted 4N for the backward).
const stepFlops = (lora, tokens) => tokens * (4 * baseParams + 6 * lora) + 3 * 4 * shape.layers * seq * shape.dModel * tokens;
const peftMfu = (r) => (r.tokens_per_s * stepFlops(r.lora_params, 1)) / BF16_PEAK;

const configs = grid.learningRate.flatMap(() => grid.rank.flatMap((rank) => grid.batchSize.map((batch) => ({ rank, batch }))));
const peftStep = (rank, batch) => peft.results.find((r) => r.rank === rank && r.batch === batch);
const d = configs.reduce((s, c) => s + (steps * peftStep(c.rank, c.batch).step_ms) / 1000, 0);
// (d′): (d) with PEFT's evaluation forward at ALTO's schedule (every evalEvery steps on
// validRows sequences), where the peer file timed it on as many rows; (a) and (b) include theirs.
const evalsTimed = alto.evalEvery > 0 && peft.results.every((r) => r.eval_rows === alto.validRows && Number.isFinite(r.eval_ms));
const dEval = evalsTimed ? d + configs.reduce((s, c) => s + (Math.floor(steps / alto.evalEvery) * peftStep(c.rank, c.batch).eval_ms) / 1000, 0) : null;
const { a, b, c } = alto.ways;
const profileFile = join(dir, 'alto-profile.json');
const kernelProfile = b?.kernelProfile ?? (existsSync(profileFile) ? JSON.parse(readFileSync(profileFile, 'utf8')).ways.b?.kernelProfile : undefined);
// Batched training: (b)'s run, or (a)'s where (b) did not run; tokens/s over the run, FLOPs per
// token with the grid's mean LoRA size.
const meanLora = configs.reduce((n, cfg) => n + loraParams(cfg.rank), 0) / configs.length;
const batchedWay = b ? 'b' : 'a', batchedRun = b ?? a;
const batchedStep = batchedRun.executorSteps.medianSeconds;
const ratio = (w) => (w ? w.sweepSeconds / a.sweepSeconds : null);
const peft1 = peftStep(16, 1), peft8 = peftStep(16, 8);
const doc = {
  device: gpu, date: alto.date, commit, shape, stepsPerConfig: steps, configurations: configs.length, backend: alto.backend, precision: alto.precision,
  baseParams,
  sweepSeconds: { a: a.sweepSeconds, b: b?.sweepSeconds ?? null, c: c?.sweepSeconds ?? null, d, dEvaluated: dEval },
  computed: { a: a.computed, b: b?.computed ?? null, c: c?.computed ?? null, d: true, dEvaluated: dEval === null ? null : true },
  ratios: { dOverA: d / a.sweepSeconds, dEvaluatedOverA: dEval === null ? null : dEval / a.sweepSeconds, bOverA: ratio(b), cOverA: ratio(c) },
  bestValLoss: { a: a.bestValLoss, b: b?.bestValLoss ?? null },
  kernelProfile: kernelProfile ?? null,
  batched: { way: batchedWay, medianStepSeconds: batchedStep, tokensPerSecond: batchedRun.tokensPerSecond, mfu: (batchedRun.tokensPerSecond * stepFlops(meanLora, 1)) / BF16_PEAK },
  peftStep: { rank16batch1: { ...peft1, mfu: peftMfu(peft1) }, rank16batch8: { ...peft8, mfu: peftMfu(peft8) } },
  goals: { dOverA20: d / a.sweepSeconds >= 20, bOverA3: b ? ratio(b) >= 3 : null },
  alto, peft,
};
const here = new URL('.', import.meta.url).pathname;
writeFileSync(join(here, 'result.json'), `${JSON.stringify(doc, null, 1)}\n`);
const s = (x) => `${x.toFixed(1)} s`;
// A trace of [seconds, rows, adapters] per step: how many steps ran with each row count, and
// the median time from the step before.
const stepsByRows = (trace) => {
  const by = new Map();
  for (let i = 1; i < trace.length; i++) by.set(trace[i][1], [...(by.get(trace[i][1]) ?? []), trace[i][0] - trace[i - 1][0]]);
  return [...by].sort((x, y) => y[1].length - x[1].length || y[0] - x[0]).slice(0, 6)
    .map(([rows, t]) => `${rows} rows ${t.length} × ${t.sort((p, q) => p - q)[t.length >> 1].toFixed(2)}`).join(', ');
};
// Step cost as rows and adapters: least squares of each step's time from the one before over
// (b)'s trace, gap ≈ perRow·rows + perAdapter·adapters; then what (a)'s steps cost by that fit.
const stepFit = (trace) => {
  let rr = 0, ra = 0, aa = 0, rg = 0, ag = 0;
  for (let i = 1; i < trace.length; i++) {
    const [t, rows, adapters] = trace[i], g = t - trace[i - 1][0];
    rr += rows * rows; ra += rows * adapters; aa += adapters * adapters; rg += rows * g; ag += adapters * g;
  }
  const det = rr * aa - ra * ra;
  return det > 0 ? { perRow: (rg * aa - ag * ra) / det, perAdapter: (ag * rr - rg * ra) / det } : null;
};
const byFit = (fit, trace) => trace.slice(1).reduce((sum, [, rows, adapters]) => sum + fit.perRow * rows + fit.perAdapter * adapters, 0);
const fitB = b?.executorSteps?.trace?.length > 2 ? stepFit(b.executorSteps.trace) : null;
const label = (k) => (doc.computed[k] ? ' (computed from measured step times)' : ' (run in full)');
const wayRow = (k, title) => (alto.ways[k] ? `| ${title} | ${s(alto.ways[k].sweepSeconds)}${label(k)} | ${doc.ratios[`${k}OverA`].toFixed(2)}× |` : `| ${title} | not run in this run | – |`);
const md = [
  `# The sweep on ${gpu}: ALTO against PEFT`,
  '',
  `Run ${alto.date.slice(0, 10)}, commit ${commit.slice(0, 12)}; ${configs.length} configurations × ${steps} steps, Llama shape ${JSON.stringify(shape)} (${(baseParams / 1e9).toFixed(2)} B parameters), ${alto.backend}${alto.precision ? ` with ${alto.precision} matmuls` : ''}.`,
  '',
  '| way | sweep time | vs (a) |',
  '|---|---|---|',
  `| (a) ALTO, early exit | ${s(a.sweepSeconds)}${label('a')} | 1 |`,
  wayRow('b', '(b) ALTO batched, no early exit'),
  wayRow('c', '(c) ALTO one at a time'),
  `| (d) PEFT one at a time | ${s(d)}${label('d')} | ${doc.ratios.dOverA.toFixed(2)}× |`,
  ...(dEval === null ? [] : [`| (d′) PEFT one at a time, evaluated as ALTO's ways are | ${s(dEval)} (computed from measured step and evaluation times) | ${doc.ratios.dEvaluatedOverA.toFixed(2)}× |`]),
  '',
  '| way | ran | samples trained | stopped early | median executor step | tokens/s |',
  '|---|---|---|---|---|---|',
  ...[['a', a], ['b', b], ['c', c]].filter(([, w]) => w).map(([k, w]) => `| (${k}) | ${w.ranStepsPerConfig} steps per configuration, ${w.wallSeconds.toFixed(1)} s | ${w.samplesTrained} of ${w.samplesBudget} | ${w.exits} | ${w.executorSteps ? `${(w.executorSteps.medianSeconds * 1000).toFixed(0)} ms (${w.executorSteps.count} steps)` : '–'} | ${Math.round(w.tokensPerSecond)} |`),
  '',
  `Settings: evaluation every ${alto.evalEvery ?? '?'} steps on ${alto.validRows ?? '?'} validation rows (ALTO's ways${dEval === null ? "; PEFT's timing has no evaluation" : "; (d′) adds PEFT's timed evaluation forward at that schedule, (d) has none"}), early exit ${JSON.stringify(alto.earlyExit)} over ALTO's defaults.`,
  '',
  ...[['a', a], ['b', b], ['c', c]].filter(([, w]) => w?.hostSeconds).map(([k, w]) =>
    `Host seconds of (${k}) by part: ${Object.entries(w.hostSeconds).map(([part, sec]) => `${part} ${sec.toFixed(1)}`).join(', ')} (reading losses waits for the device).`),
  ...[['a', a], ['b', b], ['c', c]].filter(([, w]) => w?.outOfMemory?.length).map(([k, w]) =>
    `Steps of (${k}) out of memory, taken again with fewer rows (bytes: the capacity model's prediction, what admission allowed, what the step reached before failing, and the pool's memory then where recorded): ${w.outOfMemory.map(oomText).join('; ')}.`),
  '',
  ...[['a', a], ['b', b], ['c', c]].filter(([, w]) => w?.executorSteps?.trace?.length > 1).map(([k, w]) => `Steps of (${k}) by rows (steps × median seconds, the most frequent first): ${stepsByRows(w.executorSteps.trace)}.`),
  '',
  ...(fitB && a.executorSteps?.trace?.length > 1
    ? [`Step cost fitted over (b)'s steps: ${(1000 * fitB.perRow).toFixed(1)} ms a row + ${(1000 * fitB.perAdapter).toFixed(1)} ms an adapter; by that fit (a)'s steps take ${byFit(fitB, a.executorSteps.trace).toFixed(1)} s (measured from its first step's end to its last: ${(a.executorSteps.trace.at(-1)[0] - a.executorSteps.trace[0][0]).toFixed(1)} s) and (b)'s ${byFit(fitB, b.executorSteps.trace).toFixed(1)} s (measured ${(b.executorSteps.trace.at(-1)[0] - b.executorSteps.trace[0][0]).toFixed(1)} s).`, '']
    : []),
  `Best validation loss: (a) ${a.bestValLoss ?? '–'}, (b) ${b?.bestValLoss ?? '– (not run in full)'}.`,
  `Batched training (${batchedWay}): ${Math.round(batchedRun.tokensPerSecond)} tokens/s over its run (evaluations included), MFU ${(100 * doc.batched.mfu).toFixed(1)} %, median step ${batchedStep === null ? '–' : `${(batchedStep * 1000).toFixed(0)} ms`}; PEFT, one adapter of rank 16: batch 1 ${peft1.step_ms.toFixed(1)} ms (${Math.round(peft1.tokens_per_s)} tokens/s, MFU ${(100 * peftMfu(peft1)).toFixed(1)} %), batch 8 ${peft8.step_ms.toFixed(1)} ms (${Math.round(peft8.tokens_per_s)} tokens/s, MFU ${(100 * peftMfu(peft8)).toFixed(1)} %).`,
  'MFU: model FLOPs (forward 2N, backward 2N through the frozen base, 6n for the LoRA weights, attention) over the dense bf16 peak, 989 TFLOP/s.',
  '',
  ...(kernelProfile
    ? [`Where a batched step of (b) goes (executor step ${kernelProfile.step}${b?.kernelProfile ? '' : ' of a short run of (b) of its own'}, timed kernel by kernel: ${kernelProfile.wallMs.toFixed(0)} ms; scopes contain kernels listed on their own):`, '',
      '| kernel | calls | ms |', '|---|---|---|', ...kernelProfile.kernels.slice(0, 12).map((k) => `| ${k.scope ? `(scope) ${k.name || '–'}` : k.name} | ${k.calls} | ${k.ms.toFixed(1)} |`), '']
    : []),
  `Goals: (a) ≥ 20× faster than (d), without PEFT's evaluations: ${doc.goals.dOverA20 ? 'met' : 'NOT met'}; (a) ≥ 3× faster than (b): ${doc.goals.bOverA3 === null ? 'not measured in this run' : doc.goals.bOverA3 ? 'met' : 'NOT met'}.`,
  '',
].join('\n');
writeFileSync(join(here, 'result.md'), md);
console.log(md);
