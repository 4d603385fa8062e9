import { execFile, execFileSync } from 'node:child_process';
import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));

function chromiumPath(): string | null {
  for (const p of ['/usr/bin/chromium', '/usr/bin/chromium-browser']) {
    try {
      execFileSync(p, ['--version'], { stdio: 'ignore' });
      return p;
    } catch {}
  }
  return null;
}

const chromium = chromiumPath();
if (!chromium) console.warn('report-render: Debian chromium is not installed (apt-get install chromium); the headless render test is skipped');

// Flags that keep headless Chromium off the network and quiet in a sandboxed root shell.
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

describe.skipIf(!chromium)('report.html in headless Chromium', () => {
  it('renders the charts and the ranking, and screenshots to a PNG', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'alto-report-'));
    await writeFile(join(dir, 'alto.json'), JSON.stringify({ tasks: [{ name: 'sentiment', data: 'builtin:sentiment', searchSpace: { learningRate: [0.003, 0.03], rank: [2, 4] }, steps: 12 }], validRows: 16, metricRows: 8, evalEvery: 3 }));
    await run(process.execPath, ['packages/cli/dist/main.js', 'tune', '--config', join(dir, 'alto.json'), '--out', join(dir, 'out')], { cwd: root });
    const url = `file://${join(dir, 'out', 'report.html')}`;
    const profile = await mkdtemp(join(tmpdir(), 'alto-chromium-'));
    const { stdout: dom } = await run(chromium!, [...FLAGS, `--user-data-dir=${profile}`, '--dump-dom', url], { maxBuffer: 1 << 24 });
    expect(dom).toContain('ALTO tuning report');
    expect((dom.match(/<svg/g) ?? []).length).toBe(2);
    expect((dom.match(/<tr/g) ?? []).length).toBe(1 + 4);
    const png = join(dir, 'report.png');
    await run(chromium!, [...FLAGS, `--user-data-dir=${profile}`, '--window-size=1280,1200', `--screenshot=${png}`, url]);
    expect((await stat(png)).size).toBeGreaterThan(20_000);
    expect((await readFile(png)).subarray(1, 4).toString()).toBe('PNG');
  });
});
