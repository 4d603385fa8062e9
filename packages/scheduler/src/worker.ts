import { fork, type ChildProcess } from 'node:child_process';
import { Packr } from 'msgpackr';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SchedulerConnection } from './client.js';
import type { TaskSpec } from './protocol.js';

export interface WorkerOptions {
  url: string;
  token: string;
  /** Device names this worker offers (GPUs, or CPU slots). */
  devices: string[];
  /** Stable name: a worker that reconnects under its name keeps its running tasks. */
  name: string;
  /** Where task configurations, outputs and logs go. */
  dataDir: string;
  /**
   * The executor: a Node script run as `node SCRIPT tune --config FILE --out DIR` with an IPC
   * channel (the `alto` command's main.js); it reports through the scheduler-link plugin.
   */
  executorScript: string;
  heartbeatMs?: number;
  /** Log lines (default: nothing). */
  log?: (line: string) => void;
}

interface Running {
  child: ChildProcess;
  cancelled: boolean;
}

/**
 * A worker: announces its devices, sends heartbeats, runs each task it is given as an
 * executor process on the devices it was placed on (CUDA_VISIBLE_DEVICES / ALTO_DEVICES),
 * relays the executor's reports, and reports completion or failure. When the scheduler goes
 * away it reconnects under the same name and carries on with the tasks it was running.
 */
export class SchedulerWorker {
  private connection?: SchedulerConnection;
  private readonly running = new Map<string, Running>();
  private heartbeat?: NodeJS.Timeout;
  private closed = false;
  private readonly log: (line: string) => void;

  constructor(private readonly options: WorkerOptions) {
    this.log = options.log ?? (() => undefined);
  }

  async start(): Promise<void> {
    await this.connect();
    this.heartbeat = setInterval(() => this.connection?.post({ type: 'heartbeat' }), this.options.heartbeatMs ?? 1000);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.heartbeat);
    for (const r of this.running.values()) r.child.kill('SIGKILL');
    this.connection?.close();
  }

  private async connect(): Promise<void> {
    for (;;) {
      try {
        const c = await SchedulerConnection.open(this.options.url, {
          role: 'worker', token: this.options.token, name: this.options.name, devices: this.options.devices, running: [...this.running.keys()],
        });
        this.connection = c;
        c.onPush = (m) => this.onPush(m);
        c.onClose = () => {
          if (!this.closed) setTimeout(() => void this.connect(), 300);
        };
        this.log(`connected to ${this.options.url} as ${this.options.name}`);
        return;
      } catch (e) {
        if (/unauthorized/.test((e as Error).message)) throw e;
        if (this.closed) return;
        await new Promise((r) => setTimeout(r, 300));
      }
    }
  }

  private send(message: Record<string, unknown>): void {
    this.connection?.post(message);
  }

  private onPush(m: Record<string, unknown>): void {
    if (m.type === 'start') this.startTask(m.taskId as string, m.spec as TaskSpec, m.devices as string[], m.checkpoint as Record<string, unknown> | null);
    else if (m.type === 'cancel') {
      const r = this.running.get(m.taskId as string);
      this.log(`cancel ${String(m.taskId)}${r ? '' : ' (not running here)'}`);
      if (r) {
        r.cancelled = true;
        r.child.send?.({ type: 'cancel' });
        setTimeout(() => r.child.kill('SIGKILL'), 5000).unref();
      }
    }
  }

  private startTask(taskId: string, spec: TaskSpec, devices: string[], checkpoint: Record<string, unknown> | null): void {
    if (this.running.has(taskId)) return;
    const dir = join(this.options.dataDir, 'tasks', taskId);
    mkdirSync(dir, { recursive: true });
    const config = join(dir, 'config.json');
    writeFileSync(config, JSON.stringify(spec.config ?? {}, null, 2));
    const out = join(dir, 'out');
    const checkpointFile = join(dir, 'checkpoint.msgpack');
    if (checkpoint) writeFileSync(checkpointFile, new Packr({ useRecords: false, mapsAsObjects: true, moreTypes: true }).pack(checkpoint));
    this.log(`task ${taskId} (${spec.name}) on ${devices.join(',')}${checkpoint ? ' from its checkpoint' : ''}`);
    const child = fork(this.options.executorScript, ['tune', '--config', config, '--out', out], {
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      // structured clone, so that checkpoints keep their typed arrays (adapter weights)
      serialization: 'advanced',
      env: {
        ...process.env,
        ALTO_SCHEDULER_TASK: taskId,
        ALTO_SCHEDULER_CHECKPOINT: checkpoint ? checkpointFile : '',
        ALTO_DEVICES: devices.join(','),
        CUDA_VISIBLE_DEVICES: devices.join(','),
      },
    });
    const entry: Running = { child, cancelled: false };
    this.running.set(taskId, entry);
    let stderr = '';
    child.stderr?.on('data', (d) => (stderr = (stderr + String(d)).slice(-2000)));
    child.on('message', (report) => {
      const r = report as Record<string, unknown>;
      if (r && typeof r.type === 'string' && ['profile', 'progress', 'checkpoint'].includes(r.type)) this.send({ ...r, taskId });
    });
    child.on('exit', (code, signal) => {
      this.running.delete(taskId);
      if (entry.cancelled) return;
      if (code === 0) {
        let result: Record<string, unknown> = {};
        try {
          const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as Record<string, unknown>;
          const resumedTrials = ((checkpoint?.trials as unknown[] | undefined) ?? []).length;
          result = { out, mode: summary.mode, wallSeconds: summary.wallSeconds, samplesTrained: summary.samplesTrained, resumedTrials, tasks: summary.tasks };
        } catch (e) {
          result = { out, summaryError: (e as Error).message };
        }
        this.send({ type: 'completed', taskId, result });
      } else {
        this.send({ type: 'failed', taskId, error: `executor exited with ${code ?? signal}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`.slice(0, 900) });
      }
    });
  }
}
