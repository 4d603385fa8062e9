import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));

// The examples import the built packages (dist/); the test command builds them first.
describe('examples/tfjs-existing-script, as separate processes', () => {
  it('the plain script trains and fine-tunes', async () => {
    const { stdout } = await run(process.execPath, ['examples/tfjs-existing-script/plain.mjs'], { cwd: root });
    expect(stdout).toMatch(/task A accuracy after training: (9\d|100)\.\d%/);
    expect(stdout).toMatch(/task B accuracy after fine-tuning/);
  });

  it('the same script with ALTO tunes 12 configurations and beats the guessed fine-tune', async () => {
    await rm(`${root}/out/tfjs-existing-script`, { recursive: true, force: true });
    const { stdout } = await run(process.execPath, ['examples/tfjs-existing-script/with-alto.mjs'], { cwd: root });
    expect(stdout).toMatch(/12 configurations tuned in [\d.]+ s on wasm/);
    const best = Number(/with the best adapter \(.*\): ([\d.]+)%/.exec(stdout)?.[1]);
    expect(best).toBeGreaterThan(80);
    expect(existsSync(`${root}/out/tfjs-existing-script/best-adapter/adapter_model.safetensors`)).toBe(true);
    expect(existsSync(`${root}/out/tfjs-existing-script/best-adapter/adapter_config.json`)).toBe(true);
  });
});
