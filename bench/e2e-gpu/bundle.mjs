// Bundles the `alto` CLI for the GPU machine (no node_modules there) with esbuild, beside the
// addon and an xz copy of this node, for sweep.mjs:
//   node bench/e2e-gpu/bundle.mjs   → .device/{alto-cli.mjs, alto_kernels.node, node.xz}
// (build first: `npx pnpm@12.4.2 run build` and `node packages/kernels/scripts/build-native.mjs`).
import { build } from 'esbuild';
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const out = `${root}.device`;
mkdirSync(out, { recursive: true });
await build({
  entryPoints: [`${root}packages/cli/dist/main.js`],
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  outfile: `${out}/alto-cli.mjs`,
  banner: { js: "import { createRequire as __altoRequire } from 'node:module'; const require = __altoRequire(import.meta.url);" },
  ignoreAnnotations: true, // keep the backends' kernel registrations (marked side-effect free)
  external: ['@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu'],
  logLevel: 'error',
});
copyFileSync(`${root}packages/kernels/build/Release/alto_kernels.node`, `${out}/alto_kernels.node`);
if (!existsSync(`${out}/node.xz`)) execFileSync('sh', ['-c', `xz -T2 -6 -c "$(command -v node)" > "${out}/node.xz"`]);
console.log(`bundled into ${out}`);
