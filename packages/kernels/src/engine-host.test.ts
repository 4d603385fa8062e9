import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Parts of the CUDA engine with no device calls, tested natively on the host under the address
 * and undefined-behaviour sanitizers (kernels/tests/<name>.cpp, printing "<name>: N passed, M
 * failed"): the pool's block logic (arena.h, over malloc; paged_arena.h, over the host's
 * own virtual memory) and the transpose plan with the index
 * arithmetic its kernel runs (transpose_plan.h, against a plain transpose).
 */
const kernels = fileURLToPath(new URL('../../../kernels', import.meta.url));
const cxx = [process.env.CXX, 'c++', 'g++', 'clang++'].find((c) => c && spawnSync(c, ['--version']).status === 0);
if (!cxx) console.warn('[@alto/kernels] engine host tests SKIPPED: no C++ compiler (c++, g++ or clang++) on this machine');

function runHostTest(name: string): string {
  const exe = join(mkdtempSync(join(tmpdir(), `alto-${name}-`)), name);
  const build = spawnSync(cxx!, ['-std=c++17', '-O1', '-Wall', '-Wextra', '-Werror', '-fsanitize=address,undefined', '-fno-sanitize-recover=all', '-I', join(kernels, 'cuda/engine'), join(kernels, `tests/${name}.cpp`), '-o', exe], { encoding: 'utf8' });
  expect(build.status, build.stderr).toBe(0);
  const run = spawnSync(exe, { encoding: 'utf8' });
  console.log(run.stdout.trim().split('\n').slice(-1)[0]);
  expect(run.status, run.stdout + run.stderr).toBe(0);
  return run.stdout;
}

describe.skipIf(!cxx)('CUDA engine, host tests', () => {
  it('device memory arena: hands out disjoint blocks as large as asked, merges freed ones, returns whole segments', () => {
    expect(runHostTest('arena_test')).toMatch(/arena_test: 15 passed, 0 failed/);
  }, 120_000);

  it('paged arena: maps chunks under live blocks, gives back those of free holes, keeps shared ones, and lets holes serve larger blocks', () => {
    expect(runHostTest('paged_arena_test')).toMatch(/paged_arena_test: 19 passed, 0 failed/);
  }, 120_000);

  it('transpose plan: the units its kernel moves give the plain transpose for random shapes, permutations and alignments', () => {
    expect(runHostTest('transpose_plan_test')).toMatch(/transpose_plan_test: 12 passed, 0 failed/);
  }, 120_000);
});
