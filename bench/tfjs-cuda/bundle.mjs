// Bundles, for the GPU machine (no node_modules there): device-check.ts with tfjs-core, the cpu
// backend and our packages; tfjs-core's own op tests (conformance/) with jasmine; beside them
// the addon and an xz copy of this node:
//   node bench/tfjs-cuda/bundle.mjs
//   → .device/{tfjs-cuda-check.mjs, tfjs-core-tests.cjs, alto_kernels.node, node.xz}
import { build } from 'esbuild';
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { testFiles } from './conformance/files.mjs';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const out = `${root}.device`;
mkdirSync(out, { recursive: true });
await build({
  entryPoints: [`${root}bench/tfjs-cuda/device-check.ts`],
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  outfile: `${out}/tfjs-cuda-check.mjs`,
  banner: { js: "import { createRequire as __altoRequire } from 'node:module'; const require = __altoRequire(import.meta.url);" },
  ignoreAnnotations: true,  // keep the cpu backend's kernel registrations (marked side-effect free)
  logLevel: 'warning',
});
// tfjs-core's jasmine_util requires jasmine-core, which it does not declare: this package's copy.
const jasmineCoreFile = {
  name: 'jasmine-core-file',
  setup(b) {
    b.onResolve({ filter: /^jasmine-core\/lib\/jasmine-core\/jasmine\.js$/ }, () => ({
      path: createRequire(`${root}bench/package.json`).resolve('jasmine-core/lib/jasmine-core/jasmine.js'),
    }));
  },
};

// The op test files as static requires, in order (tests.generated.cjs is not committed).
const generated = `${root}bench/tfjs-cuda/conformance/tests.generated.cjs`;
writeFileSync(generated, `module.exports = [\n${testFiles.map((f) => `  ['${f}', () => require('@tensorflow/tfjs-core/dist/ops/${f}_test')],`).join('\n')}\n];\n`);
await build({
  entryPoints: [`${root}bench/tfjs-cuda/conformance/entry.cjs`],
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  outfile: `${out}/tfjs-core-tests.cjs`,
  ignoreAnnotations: true,
  logLevel: 'error',
  plugins: [jasmineCoreFile],
});
copyFileSync(`${root}packages/kernels/build/Release/alto_kernels.node`, `${out}/alto_kernels.node`);
if (!existsSync(`${out}/node.xz`)) execFileSync('sh', ['-c', `xz -T2 -6 -c "$(command -v node)" > "${out}/node.xz"`]);
console.log(`bundled into ${out}`);
