// tfjs-core's own jasmine op tests against the CUDA backend (recipe: shared/TFJS-CONFORMANCE.md).
// Bundled by bundle.mjs into one CommonJS file with jasmine-core; run on the GPU machine:
//   node tfjs-core-tests.cjs OUT.json
// ALTO_CONFORMANCE_BACKEND=cpu runs the same files on tfjs's cpu backend (a check of the harness).
const { writeFileSync } = require('node:fs');
const jasmineRequire = require('jasmine-core/lib/jasmine-core/jasmine.js');
const jasmine = jasmineRequire.core(jasmineRequire);
const env = jasmine.getEnv();
Object.assign(globalThis, jasmineRequire.interface(jasmine, env));  // describe, it, expect, …
env.configure({ random: false });

require('@tensorflow/tfjs-core/dist/index');
require('@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops');
require('@tensorflow/tfjs-core/dist/register_all_gradients');
const { setTestEnvs } = require('@tensorflow/tfjs-core/dist/jasmine_util');
require('@tensorflow/tfjs-backend-cpu');
const { registerCudaBackend, CUDA_BACKEND } = require('@alto/tfjs-backend-cuda');

const backend = process.env.ALTO_CONFORMANCE_BACKEND ?? CUDA_BACKEND;
if (backend === CUDA_BACKEND) {
  const registration = registerCudaBackend();
  if (!registration.ok) {
    console.error(`CUDA backend unavailable: ${registration.reason}`);
    process.exit(2);
  }
}
setTestEnvs([{ name: backend, backendName: backend, flags: {} }]);

// Each file's specs are named "<file> » …" so the results group by file.
const TESTS = require('./tests.generated.cjs');
const plainDescribe = globalThis.describe;
for (const [file, load] of TESTS) {
  globalThis.describe = (name, fn) => plainDescribe(`${file} » ${name}`, fn);
  load();
}
globalThis.describe = plainDescribe;

const perFile = {};
env.addReporter({
  specDone(result) {
    const file = result.fullName.split(' » ')[0];
    const entry = (perFile[file] ??= { passed: 0, failed: 0, failures: [] });
    if (result.status === 'passed') entry.passed++;
    else if (result.status === 'failed') {
      entry.failed++;
      const why = (result.failedExpectations[0]?.message ?? '').split('\n')[0].slice(0, 240);
      if (entry.failures.length < 8) entry.failures.push(`${result.fullName.split(' » ').slice(1).join(' » ')}: ${why}`);
    }
  },
});

env.execute().then((result) => {
  const files = Object.keys(perFile).sort();
  const passed = files.reduce((n, f) => n + perFile[f].passed, 0), failed = files.reduce((n, f) => n + perFile[f].failed, 0);
  for (const f of files) console.log(`${perFile[f].failed ? 'FAIL' : 'ok  '} ${f}: ${perFile[f].passed} passed, ${perFile[f].failed} failed`);
  if (process.argv[2]) writeFileSync(process.argv[2], JSON.stringify({ backend, date: new Date().toISOString(), passed, failed, files: perFile }, null, 1));
  console.log(`tfjs-core op tests on ${backend}: ${passed} passed, ${failed} failed (${result.overallStatus})`);
});
