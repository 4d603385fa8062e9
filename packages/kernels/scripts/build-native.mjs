#!/usr/bin/env node
// Builds the addon with cmake-js (CPU kernels always; CUDA ones when nvcc is found).
// --optional: a failed build prints what to do and exits 0, so that ALTO still runs on the
// tfjs kernels. Extra arguments go to cmake-js (e.g. --CDALTO_CUDA=OFF).
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(dirname(fileURLToPath(import.meta.url)));
const args = process.argv.slice(2);
const optional = args.includes('--optional');
const passThrough = args.filter((a) => a !== '--optional');
const cmakeJs = join(dirname(createRequire(import.meta.url).resolve('cmake-js/package.json')), 'bin', 'cmake-js');
// CUDA sources are compiled for the architectures in ALTO_CUDA_ARCHITECTURES (default 90a),
// passed on every build: a build directory configured before would keep its cached list
// otherwise (an addon built for plain sm_90 has none of the wgmma kernels).
const arch = [`--CDALTO_CUDA_ARCHITECTURES=${process.env.ALTO_CUDA_ARCHITECTURES || '90a'}`];
// Configured on every build (cmake-js's `build` alone keeps an existing configuration and its
// options), then built.
const run = (command) =>
  spawnSync(process.execPath, [cmakeJs, command, '--directory', here, '--parallel', '2', ...arch, ...passThrough], {
    stdio: 'inherit',
    env: { ...process.env, PATH: `${process.env.PATH}:/usr/local/cuda/bin` },
  });
let result = run('configure');
if (result.status === 0) result = run('build');
if (result.status !== 0) {
  const message = [
    '@alto/kernels: the native build failed; ALTO will use its tfjs kernels (slower).',
    'It needs cmake ≥ 3.20 and a C++17 compiler with OpenMP (g++); nvcc adds the CUDA kernels.',
    `Retry with: pnpm -F @alto/kernels build:native`,
  ].join('\n');
  console.error(message);
  process.exit(optional ? 0 : result.status ?? 1);
}
