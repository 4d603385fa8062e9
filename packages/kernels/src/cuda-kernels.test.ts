import { describe, expect, it } from 'vitest';
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadNativeKernels, NATIVE_OFF_ENV } from '@alto/kernels';

/**
 * The CUDA kernels: the addon must include them wherever nvcc was found at build time (CI
 * has nvcc and no GPU, so this is how CI proves they compile). Their numerical checks (the
 * native kernels/tests/cuda_check against a float64 reference, poisoned outputs, fp32 and
 * bf16) and compute-sanitizer run only where a GPU is; elsewhere they are skipped, saying so.
 */
const load = loadNativeKernels();
const off = process.env[NATIVE_OFF_ENV] === '1';
const nvcc = ['nvcc', '/usr/local/cuda/bin/nvcc'].find((cmd) => spawnSync(cmd, ['--version']).status === 0);
const devices = load.ok ? load.kernels.cudaDeviceCount() : 0;
const kernelsDir = fileURLToPath(new URL('../../../kernels', import.meta.url));
if (devices === 0) {
  console.warn('[@alto/kernels] CUDA kernel checks SKIPPED: no CUDA device on this machine. They run on the GPU machine: bash bench/kernels/device-run.sh');
}

if (!nvcc) console.warn('[@alto/kernels] CUDA compile checks SKIPPED: no nvcc on this machine.');

describe.skipIf(off)('CUDA kernels in the build', () => {
  it(`are compiled into the addon exactly when nvcc is found (nvcc: ${nvcc ?? 'none'})`, () => {
    if (!load.ok) throw new Error(load.reason);
    expect(load.kernels.cudaCompiled).toBe(Boolean(nvcc));
  });

  // The architecture list is a build option (kernels/README.md, e.g. "80;90a"): the code of
  // Hopper's tensor copies and wgmma must stay out of what older GPUs get. Every CUDA source,
  // compiled for sm_80 as a "80;90a" build compiles it (ALTO_CUDA_SM90A defined).
  it.skipIf(!nvcc)('compile for an older GPU as well (sm_80)', async () => {
    const sources = ['cuda', 'cuda/engine'].flatMap((dir) =>
      readdirSync(join(kernelsDir, dir)).filter((f) => f.endsWith('.cu')).map((f) => join(kernelsDir, dir, f)));
    const out = mkdtempSync(join(tmpdir(), 'alto-sm80-'));
    const compile = (src: string, i: number) =>
      new Promise<string>((resolve) => {
        const args = ['-std=c++17', '-DALTO_CUDA_SM90A', '-I', join(kernelsDir, 'include'), '-I', join(kernelsDir, 'cuda'), '-Xptxas', '-O0',
          '--generate-code=arch=compute_80,code=sm_80', '-c', src, '-o', join(out, `${i}.o`)];
        execFile(nvcc as string, args, (err, _stdout, stderr) => resolve(err ? `${src}:\n${stderr.slice(0, 1500)}` : ''));
      });
    const failures: string[] = [];
    for (let i = 0; i < sources.length; i += 2) failures.push(...(await Promise.all(sources.slice(i, i + 2).map((s, k) => compile(s, i + k)))));
    rmSync(out, { recursive: true, force: true });
    expect(sources.length).toBeGreaterThan(10);
    expect(failures.filter(Boolean)).toEqual([]);
  }, 600_000);
});

describe.skipIf(off || devices === 0)('CUDA kernels on the device', () => {
  let tools = '';
  const build = () => {
    if (tools) return tools;
    tools = mkdtempSync(join(tmpdir(), 'alto-cuda-tools-'));
    execFileSync('cmake', ['-S', kernelsDir, '-B', tools, '-DALTO_KERNEL_TOOLS=ON', '-DALTO_CUDA=ON'], { stdio: 'pipe' });
    execFileSync('cmake', ['--build', tools, '-j', '8', '--target', 'alto_cuda_check'], { stdio: 'pipe' });
    return tools;
  };

  it('match the float64 reference in fp32 (≤ 1e-5) and bf16 (≤ 1e-2), every output written', () => {
    const run = spawnSync(join(build(), 'alto_cuda_check'), { encoding: 'utf8' });
    console.log(run.stdout.split('\n').slice(-2).join('\n'));
    expect(run.status, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toMatch(/cuda_check: \d+ passed, 0 failed/);
  }, 600_000);

  it('are clean under compute-sanitizer memcheck', () => {
    const sanitizer = ['compute-sanitizer', '/usr/local/cuda/bin/compute-sanitizer'].find((c) => existsSync(c) || spawnSync(c, ['--version']).status === 0);
    if (!sanitizer) throw new Error('compute-sanitizer is not installed next to the CUDA toolkit');
    const run = spawnSync(sanitizer, ['--tool', 'memcheck', '--error-exitcode', '9', join(build(), 'alto_cuda_check'), '--quick'], { encoding: 'utf8' });
    expect(run.status, run.stdout.slice(-2000)).toBe(0);
    expect(run.stdout).toMatch(/ERROR SUMMARY: 0 errors/);
  }, 600_000);
});
