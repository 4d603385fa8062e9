// Bundles device-check.ts with tfjs-core, the cpu backend and our packages into one file for
// the GPU machine (no node_modules there), beside the addon and an xz copy of this node:
//   node bench/tfjs-cuda/bundle.mjs  →  .device/{tfjs-cuda-check.mjs, alto_kernels.node, node.xz}
import { build } from 'esbuild';
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
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
copyFileSync(`${root}packages/kernels/build/Release/alto_kernels.node`, `${out}/alto_kernels.node`);
if (!existsSync(`${out}/node.xz`)) execFileSync('sh', ['-c', `xz -T2 -6 -c "$(command -v node)" > "${out}/node.xz"`]);
console.log(`bundled into ${out}`);
