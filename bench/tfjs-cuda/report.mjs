// Files one device run of device-run.sh (DIR = what it wrote to $OUT) as result.json and
// result.md beside this script, with the commit it ran at.
//   node bench/tfjs-cuda/report.mjs DIR [GPU name]
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runInfo } from '../env.mjs';

const dir = process.argv[2];
const gpu = process.argv[3] ?? 'NVIDIA H200';
const run = JSON.parse(readFileSync(join(dir, 'tfjs-cuda-check.json'), 'utf8'));
const core = JSON.parse(readFileSync(join(dir, 'tfjs-core-tests.json'), 'utf8'));
const precisions = ['tf32', 'bf16'].map((p) => join(dir, `tfjs-cuda-${p}.json`)).filter(existsSync).map((f) => JSON.parse(readFileSync(f, 'utf8')));
const { commit } = runInfo();
const passed = run.outcomes.filter((o) => o.ok).length;
const doc = {
  device: gpu, date: run.date, commit, backend: run.backend, passed, failed: run.outcomes.length - passed, outcomes: run.outcomes,
  matmulPrecision: precisions.flatMap((p) => p.outcomes),
  tfjsCoreTests: { passed: core.passed, failed: core.failed, files: core.files },
};
const here = new URL('.', import.meta.url).pathname;
writeFileSync(join(here, 'result.json'), `${JSON.stringify(doc, null, 1)}\n`);
const md = [
  `# tfjs CUDA backend: op checks against the cpu backend on ${gpu}`,
  '',
  `Run ${run.date.slice(0, 10)}, commit ${commit.slice(0, 12)}: **${passed} passed, ${doc.failed} failed** (test/tfjs-cuda/cases.ts, bundled by bundle.mjs, run by device-run.sh).`,
  '',
  '| case | result |',
  '|---|---|',
  ...run.outcomes.map((o) => `| ${o.name} | ${o.ok ? 'ok' : `FAIL: ${o.detail}`} |`),
  '',
  '## Matmul precision options (the backend registered with each, same run)',
  '',
  '| check | result |',
  '|---|---|',
  ...doc.matmulPrecision.map((o) => `| ${o.name} | ${o.ok ? 'ok' : `FAIL: ${o.detail}`} |`),
  '',
  `## tfjs-core's own op tests (conformance/), same run: ${core.passed} passed, ${core.failed} failed`,
  '',
  'Per test file (one op each). The first failures of each file are in result.json; README.md groups their causes.',
  '',
  '| file | passed | failed |',
  '|---|---|---|',
  ...Object.entries(core.files).map(([f, r]) => `| ${f} | ${r.passed} | ${r.failed} |`),
  '',
].join('\n');
writeFileSync(join(here, 'result.md'), md);
console.log(md);
