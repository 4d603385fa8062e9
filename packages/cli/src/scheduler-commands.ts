import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { expandSearchSpace } from '@alto/core';
import { validateConfig } from './config.js';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import YAML from 'yaml';
import { renderGantt, SchedulerConnection, SchedulerServer, SchedulerWorker, type TaskRecord, type WorkerRecord, type Plan } from '@alto/scheduler';

export const SCHEDULER_USAGE = `usage:
  alto scheduler start --port P --data DIR --token T [--host H] [--heartbeat-timeout MS]
  alto worker --scheduler URL --devices LIST --token T [--name NAME] [--data DIR]
  alto submit --scheduler URL --token T --task FILE     (JSON or YAML TaskSpec)
  alto status --scheduler URL --token T
  alto cancel --scheduler URL --token T --task ID`;

const fail = (message: string): never => {
  throw new UsageError(message);
};
export class UsageError extends Error {}

function args(rest: string[], options: Record<string, { type: 'string' | 'boolean'; default?: string }>, required: string[]) {
  const { values } = parseArgs({ args: rest, options, strict: true });
  for (const r of required) if (values[r] === undefined) fail(`--${r} is required`);
  return values as Record<string, string | undefined>;
}

const common = { scheduler: { type: 'string' as const }, token: { type: 'string' as const } };

/** Runs one of the scheduler commands; resolves with the exit code (servers run until signalled). */
export async function runSchedulerCommand(command: string, rest: string[]): Promise<number> {
  if (command === 'scheduler') {
    const [sub, ...more] = rest;
    if (sub !== 'start') fail(`unknown scheduler command "${sub ?? ''}"`);
    const v = args(more, { port: { type: 'string' }, data: { type: 'string' }, token: { type: 'string' }, host: { type: 'string' }, 'heartbeat-timeout': { type: 'string' } }, ['port', 'data', 'token']);
    const port = Number(v.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`--port must be an integer in [0, 65535], got ${v.port}`);
    const server = new SchedulerServer({
      port, host: v.host, dataDir: v.data!, token: v.token!,
      heartbeatTimeoutMs: v['heartbeat-timeout'] ? Number(v['heartbeat-timeout']) : undefined,
    });
    const bound = await server.start();
    console.log(`alto scheduler listening on ws://${v.host ?? '127.0.0.1'}:${bound} (data ${v.data})`);
    await new Promise<void>((resolve) => {
      const stop = () => void server.close().then(resolve);
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    });
    return 0;
  }
  if (command === 'worker') {
    const v = args(rest, { ...common, devices: { type: 'string' }, name: { type: 'string' }, data: { type: 'string', default: 'out/alto-worker' } }, ['scheduler', 'devices', 'token']);
    const devices = v.devices!.split(',').map((d) => d.trim()).filter(Boolean);
    if (devices.length === 0) fail('--devices must list at least one device (e.g. 0,1 or cpu0,cpu1)');
    const worker = new SchedulerWorker({
      url: v.scheduler!, token: v.token!, devices, name: v.name ?? `${process.pid}`, dataDir: v.data!,
      executorScript: fileURLToPath(new URL('./main.js', import.meta.url)), log: (l) => console.log(l),
    });
    await worker.start();
    await new Promise<void>((resolve) => {
      const stop = () => void worker.close().then(resolve);
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    });
    return 0;
  }
  const v = args(rest, { ...common, task: { type: 'string' } }, ['scheduler', 'token', ...(command === 'status' ? [] : ['task'])]);
  const connection = await SchedulerConnection.open(v.scheduler!, { role: 'client', token: v.token! });
  try {
    if (command === 'submit') {
      const text = readFileSync(v.task!, 'utf8');
      const task = v.task!.endsWith('.json') ? JSON.parse(text) : YAML.parse(text);
      // Without a dataset size, the samples of the whole search its alto tune config implies.
      if (task && task.datasetSize === undefined && task.config) task.datasetSize = searchSamples(task.config, dirname(v.task!));
      const reply = await connection.request({ type: 'submit', task: { priority: 0, ...task } });
      console.log(reply.taskId);
    } else if (command === 'cancel') {
      await connection.request({ type: 'cancel', taskId: v.task });
      console.log(`cancelled ${v.task}`);
    } else if (command === 'status') {
      const s = await connection.request({ type: 'status' });
      console.log(formatStatus(s.tasks as TaskRecord[], s.workers as WorkerRecord[], s.plan as Plan | null, s.now as number));
    } else fail(`unknown command "${command}"`);
  } finally {
    connection.close();
  }
  return 0;
}

/** Samples every configuration of an `alto tune` config trains when it runs to the end. */
export function searchSamples(rawConfig: unknown, baseDir: string): number {
  const config = validateConfig(rawConfig, baseDir);
  let samples = 0;
  config.tasks.forEach((t, i) => {
    const trials = expandSearchSpace(t.searchSpace, { rank: 8, learningRate: 1e-3, batchSize: 8, steps: t.steps, seed: config.seed, targets: t.targets }, { type: 'grid' }, `tasks[${i}].searchSpace`);
    for (const trial of trials) samples += (trial.config.steps ?? t.steps) * trial.config.batchSize;
  });
  return samples;
}

function formatStatus(tasks: TaskRecord[], workers: WorkerRecord[], plan: Plan | null, now: number): string {
  const lines = ['tasks:'];
  for (const t of tasks) {
    const pct = Math.round((100 * t.samplesDone) / t.spec.datasetSize);
    lines.push(`  ${t.id.slice(0, 8)}  ${t.spec.name.padEnd(16)} ${t.state.padEnd(9)} ${String(pct).padStart(3)}%  ${t.spec.devices} dev${t.worker ? `  on ${t.worker}:${t.devices.join(',')}` : ''}${t.error ? `  ${t.error}` : ''}`);
  }
  lines.push('workers:');
  for (const w of workers) lines.push(`  ${w.id.padEnd(12)} ${w.up ? 'up  ' : 'lost'} ${w.devices.join(',')}`);
  const devices = workers.filter((w) => w.up).flatMap((w) => w.devices.map((d) => `${w.id}/${d}`));
  if (devices.length > 0) lines.push('placement:', renderGantt(tasks, plan, devices, now));
  return lines.join('\n');
}
