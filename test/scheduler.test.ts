import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Packr } from 'msgpackr';
import { WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SchedulerConnection, type TaskRecord } from '@alto/scheduler';

/**
 * The scheduler service with real processes on loopback: `alto scheduler start`, two
 * `alto worker`s running small CPU tuning tasks (each an `alto tune` executor), and clients.
 */
const root = fileURLToPath(new URL('..', import.meta.url));
const TOKEN = 'test-token-1234';
const procs: ChildProcess[] = [];

function alto(args: string[]): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, ['packages/cli/dist/main.js', ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  child.stdout!.on('data', (d) => (out += String(d)));
  child.stderr!.on('data', (d) => (out += String(d)));
  procs.push(child);
  return { child, output: () => out };
}

async function until<T>(what: string, probe: () => Promise<T | undefined | null | false> | T | undefined | null | false, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== null && v !== false) return v as T;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Executors (`alto tune` processes started by a worker) working on a task. */
function countExecutors(taskId: string): number {
  const out = spawnSync('sh', ['-c', `grep -l "ALTO_SCHEDULER_TASK=${taskId}" /proc/[0-9]*/environ 2>/dev/null | wc -l`]).stdout.toString().trim();
  return Number(out);
}

/** Kills a process and everything it started (its process group), like losing the machine. */
function killHard(child: ChildProcess): void {
  try {
    process.kill(-child.pid!, 'SIGKILL');
  } catch {
    child.kill('SIGKILL');
  }
}

// Three configurations trained one after another, so a task checkpoints between them.
const taskSpec = (name: string, steps = 24) => ({
  name, baseModel: 'builtin:tiny', devices: 1, datasetSize: 3 * steps * 8, priority: 0, searchSpace: { learningRate: [0.01, 0.02, 0.05] },
  config: { tasks: [{ name: 'rev', data: 'builtin:reverse', searchSpace: { learningRate: [0.01, 0.02, 0.05], rank: [2] }, steps }], maxAdapters: 1, validRows: 8, metricRows: 8, evalEvery: 4, earlyExit: false },
});

describe('the scheduler service, as real processes', () => {
  let dir = '';
  let port = 0;
  let url = '';
  let scheduler: ReturnType<typeof alto>;
  const workers: Record<string, ReturnType<typeof alto>> = {};
  const status = async () => {
    const c = await SchedulerConnection.open(url, { role: 'client', token: TOKEN });
    try {
      return (await c.request({ type: 'status' })) as { tasks: TaskRecord[]; workers: { id: string; up: boolean }[] };
    } finally {
      c.close();
    }
  };
  const startScheduler = async (p: number) => {
    scheduler = alto(['scheduler', 'start', '--port', String(p), '--data', join(dir, 'scheduler'), '--token', TOKEN, '--heartbeat-timeout', '3000']);
    const line = await until('the scheduler to listen', () => scheduler.output().match(/listening on ws:\/\/127\.0\.0\.1:(\d+)/), 20_000);
    port = Number(line[1]);
    url = `ws://127.0.0.1:${port}`;
  };
  const startWorker = (name: string) => {
    workers[name] = alto(['worker', '--scheduler', url, '--devices', 'cpu0', '--token', TOKEN, '--name', name, '--data', join(dir, name)]);
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'alto-scheduler-'));
    await startScheduler(0);
  }, 30_000);

  afterAll(() => {
    for (const p of procs) if (p.exitCode === null) killHard(p);
  });

  it('refuses a wrong token, and anything before hello', async () => {
    await expect(SchedulerConnection.open(url, { role: 'client', token: 'wrong-token' })).rejects.toThrow(/unauthorized/);
    const ws = new WebSocket(url);
    await new Promise((r) => ws.once('open', r));
    const reply = new Promise<Record<string, unknown>>((r) => ws.once('message', (d: Buffer) => r(new Packr({ useRecords: false }).unpack(d as Buffer))));
    ws.send(new Packr({ useRecords: false }).pack({ v: 1, id: 1, type: 'status' }));
    expect(await reply).toMatchObject({ type: 'error', code: 'unauthorized', replyTo: 1 });
    ws.close();
  });

  it('answers each of 1,000 malformed messages with an error, stays up and keeps serving', async () => {
    const packr = new Packr({ useRecords: false });
    const ws = new WebSocket(url);
    await new Promise((r) => ws.once('open', r));
    const replies: Record<string, unknown>[] = [];
    ws.on('message', (d: Buffer) => replies.push(packr.unpack(d as Buffer)));
    const hello = packr.pack({ v: 1, id: 0, type: 'hello', role: 'client', token: TOKEN });
    ws.send(hello);
    await until('hello', () => replies.length === 1);
    const bad: (Buffer | string)[] = [];
    for (let i = 0; i < 1000; i++) {
      switch (i % 10) {
        case 0: bad.push(Buffer.from(Array.from({ length: 1 + (i % 37) }, (_, k) => (i * 31 + k * 17) % 256))); break; // random bytes
        case 1: bad.push(`text frame ${i}`); break;
        case 2: bad.push(packr.pack([1, 2, i])); break; // not a map
        case 3: bad.push(packr.pack({ type: 'status' })); break; // no version
        case 4: bad.push(packr.pack({ v: 99, type: 'status' })); break; // unknown version
        case 5: bad.push(packr.pack({ v: 1, type: `nope-${i}` })); break; // unknown type
        case 6: bad.push(packr.pack({ v: 1, type: 'submit', task: { name: '', devices: -1 } })); break; // invalid fields
        case 7: bad.push(packr.pack({ v: 1, type: 'cancel', taskId: 'no-such-task' })); break; // unknown task
        case 8: bad.push(packr.pack({ v: 1, type: 'progress', taskId: 'x', samplesDone: 'many' })); break;
        default: bad.push(packr.pack({ v: 1, id: -5, type: 'status', extra: { deep: [1, 2, 3] } }));
      }
    }
    for (const b of bad) ws.send(b);
    await until('1,000 answers', () => replies.length >= 1001, 30_000);
    const errors = replies.slice(1);
    expect(errors).toHaveLength(1000);
    expect(errors.every((r) => r.type === 'error')).toBe(true);
    expect(new Set(errors.map((r) => r.code))).toEqual(new Set(['malformed', 'version', 'unknown-type', 'invalid', 'not-found']));
    ws.close();
    expect(scheduler.child.exitCode).toBeNull();
    expect((await status()).tasks).toEqual([]);
  }, 60_000);

  it('runs tasks on two workers; after kill -9 of a worker its task resumes elsewhere from its checkpoint, no trial lost', async () => {
    startWorker('w1');
    startWorker('w2');
    await until('two workers', async () => (await status()).workers.filter((w) => w.up).length === 2);
    const c = await SchedulerConnection.open(url, { role: 'client', token: TOKEN });
    const ids: string[] = [];
    for (const name of ['a', 'b', 'c']) ids.push((await c.request({ type: 'submit', task: taskSpec(name) })).taskId as string);
    c.close();
    // Lose w1 while it runs a task that has checkpointed at least one finished trial.
    const victim = await until('a checkpointed task running on w1', async () =>
      (await status()).tasks.find((t) => t.state === 'running' && t.worker === 'w1' && ((t.checkpoint?.finishedTrials as number) ?? 0) >= 1));
    killHard(workers.w1.child);
    const done = await until('every task to finish', async () => {
      const s = await status();
      return s.tasks.every((t) => t.state === 'completed' || t.state === 'failed') ? s : undefined;
    }, 180_000);
    for (const t of done.tasks) {
      expect(t.state, `${t.spec.name}: ${t.error}`).toBe('completed');
      const trials = (t.result!.tasks as { trials: unknown[] }[])[0].trials;
      expect(trials).toHaveLength(3);
    }
    const moved = done.tasks.find((t) => t.id === victim.id)!;
    expect(moved.attempts).toBe(2);
    expect(moved.worker).toBe('w2');
    // the second attempt started from the checkpoint: the trials finished on w1 were not trained again
    expect(moved.result!.resumedTrials).toBeGreaterThanOrEqual(1);
    expect(done.workers.find((w) => w.id === 'w1')!.up).toBe(false);
  }, 240_000);

  it('cancels a running task: its executor stops and the device takes the next task', async () => {
    const c = await SchedulerConnection.open(url, { role: 'client', token: TOKEN });
    const long = (await c.request({ type: 'submit', task: taskSpec('long', 1000) })).taskId as string;
    await until('the long task to run', async () => (await status()).tasks.find((t) => t.id === long && t.state === 'running'));
    await c.request({ type: 'cancel', taskId: long });
    const next = (await c.request({ type: 'submit', task: taskSpec('next') })).taskId as string;
    c.close();
    const done = await until('the next task to finish', async () => (await status()).tasks.find((t) => t.id === next && t.state === 'completed'), 120_000);
    expect(done.worker).toBe('w2');
    expect((await status()).tasks.find((t) => t.id === long)!.state).toBe('cancelled');
    // the long task's executor is gone: no alto tune process works on it any more
    await until('the cancelled executor to exit', () => !spawnSync('pgrep', ['-f', long]).stdout.toString().trim(), 20_000);
  }, 180_000);

  it('re-queues the task of a worker that stops answering, and stops it there when that worker comes back', async () => {
    startWorker('w3');
    await until('w3', async () => (await status()).workers.find((w) => w.id === 'w3' && w.up));
    const c = await SchedulerConnection.open(url, { role: 'client', token: TOKEN });
    const id = (await c.request({ type: 'submit', task: taskSpec('silent', 400) })).taskId as string;
    const first = await until('the task to run', async () => (await status()).tasks.find((t) => t.id === id && t.state === 'running'));
    const frozen = workers[first.worker!].child;
    process.kill(-frozen.pid!, 'SIGSTOP'); // alive, silent: no heartbeats
    const moved = await until('the task to move', async () => (await status()).tasks.find((t) => t.id === id && t.state === 'running' && t.worker !== first.worker), 30_000);
    expect(moved.attempts).toBe(2);
    process.kill(-frozen.pid!, 'SIGCONT');
    // Back, it reconnects, says it still runs the task, and is told to stop it: one executor left.
    await until('one executor for the task', () => spawnSync('pgrep', ['-f', '-c', `ALTO_SCHEDULER_TASK=${id}`]).stdout.toString().trim() === '1' || countExecutors(id) === 1, 30_000);
    await until(`${first.worker} back`, async () => (await status()).workers.find((w) => w.id === first.worker && w.up));
    await c.request({ type: 'cancel', taskId: id });
    c.close();
  }, 120_000);

  it('comes back after a restart with every task, and finishes the ones in flight', async () => {
    const before = await status();
    const c = await SchedulerConnection.open(url, { role: 'client', token: TOKEN });
    const id = (await c.request({ type: 'submit', task: taskSpec('after-restart') })).taskId as string;
    c.close();
    await until('the new task to run', async () => (await status()).tasks.find((t) => t.id === id && t.state === 'running'));
    killHard(scheduler.child);
    await new Promise((r) => setTimeout(r, 500));
    await startScheduler(port);
    const after = await status();
    for (const t of before.tasks) expect(after.tasks.find((x) => x.id === t.id)).toMatchObject({ state: t.state, attempts: t.attempts, worker: t.worker });
    const finished = await until('the task in flight to finish', async () => {
      const t = (await status()).tasks.find((x) => x.id === id);
      return t && (t.state === 'completed' || t.state === 'failed') ? t : undefined;
    }, 180_000);
    expect(finished.state, finished.error ?? '').toBe('completed');
    expect(spawnSync('kill', ['-0', String(scheduler.child.pid)]).status).toBe(0);
  }, 240_000);
});
