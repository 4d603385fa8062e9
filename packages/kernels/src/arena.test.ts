import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The CUDA engine's pool carves large blocks best-fit from device segments (kernels/cuda/engine/
 * arena.h). Its block logic has no device calls, so the native test kernels/tests/arena_test
 * runs here on the host, over malloc, under the address and undefined-behaviour sanitizers.
 */
const kernels = fileURLToPath(new URL('../../../kernels', import.meta.url));
const cxx = [process.env.CXX, 'c++', 'g++', 'clang++'].find((c) => c && spawnSync(c, ['--version']).status === 0);
if (!cxx) console.warn('[@alto/kernels] arena host test SKIPPED: no C++ compiler (c++, g++ or clang++) on this machine');

describe.skipIf(!cxx)('device memory arena (host test)', () => {
  it('hands out disjoint blocks as large as asked, merges freed ones, returns whole segments', () => {
    const exe = join(mkdtempSync(join(tmpdir(), 'alto-arena-')), 'arena_test');
    const build = spawnSync(cxx!, ['-std=c++17', '-O1', '-Wall', '-Wextra', '-Werror', '-fsanitize=address,undefined', '-fno-sanitize-recover=all', '-I', join(kernels, 'cuda/engine'), join(kernels, 'tests/arena_test.cpp'), '-o', exe], { encoding: 'utf8' });
    expect(build.status, build.stderr).toBe(0);
    const run = spawnSync(exe, { encoding: 'utf8' });
    console.log(run.stdout.trim().split('\n').slice(-1)[0]);
    expect(run.status, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toMatch(/arena_test: 15 passed, 0 failed/);
  }, 120_000);
});
