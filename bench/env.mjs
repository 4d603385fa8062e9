// Where and when a benchmark ran: written into every result file.
import { execSync } from 'node:child_process';
import os from 'node:os';

export function runInfo() {
  // ALTO_RUN_COMMIT: the commit a device run was built from, when the result is filed later.
  let commit = process.env.ALTO_RUN_COMMIT ?? 'unknown';
  if (!process.env.ALTO_RUN_COMMIT) {
    try {
      commit = execSync('git rev-parse HEAD', { encoding: 'utf8' }).trim();
    } catch {}
  }
  return {
    date: new Date().toISOString(),
    commit,
    device: `${os.cpus()[0]?.model ?? 'cpu'} × ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB`,
    node: process.version,
  };
}

export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
