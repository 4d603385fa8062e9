import { randomUUID, timingSafeEqual } from 'node:crypto';
import { WebSocketServer, type WebSocket } from 'ws';
import { attach, attachPromise } from '@alto/core';
import { createSchedulerHooks, type SchedulerHooks, type SchedulerPlugin } from './hooks.js';
import { milpPlacement } from './placement/milp.js';
import type { Plan, PlacementInput } from './placement/types.js';
import { predictRemaining } from './predict.js';
import { decode, encode, ProtocolError, type ClientMessage } from './protocol.js';
import { SchedulerStore, type TaskRecord } from './store.js';

export interface SchedulerOptions {
  port: number;
  /** 127.0.0.1 unless told otherwise. */
  host?: string;
  dataDir: string;
  token: string;
  /** A worker silent for this long is lost: its tasks go back to the queue. */
  heartbeatTimeoutMs?: number;
  /** Time limit of one MILP placement, seconds. */
  placementTimeLimit?: number;
  plugins?: SchedulerPlugin[];
}

interface Peer {
  socket: WebSocket;
  role?: 'client' | 'worker';
  workerId?: string;
}

const now = () => Date.now() / 1000;

/** A task as status shows it: the checkpoint summarised (it can hold adapter weights). */
function withoutCheckpointData(t: TaskRecord): TaskRecord {
  const trials = (t.checkpoint?.trials as unknown[] | undefined)?.length ?? 0;
  return { ...t, checkpoint: t.checkpoint ? { finishedTrials: trials } : null };
}

/**
 * The scheduler service: authenticates clients and workers, keeps tasks durable, predicts
 * durations, re-plans on every arrival, completion, worker join and worker loss, starts
 * planned tasks on free devices at once, and re-queues the tasks of lost workers (they resume
 * from their last checkpoint). A started task is not moved unless `shouldPreempt` says so.
 */
export class SchedulerServer {
  readonly hooks: SchedulerHooks = createSchedulerHooks();
  readonly store: SchedulerStore;
  private wss?: WebSocketServer;
  private readonly peers = new Set<Peer>();
  private readonly workers = new Map<string, Peer>();
  private readonly lastSeen = new Map<string, number>();
  private timer?: NodeJS.Timeout;
  private replanning: Promise<void> = Promise.resolve();
  private plan: Plan | undefined;
  private readonly detach: (() => void)[] = [];
  private closing = false;

  constructor(private readonly options: SchedulerOptions) {
    if (!options.token) throw new Error('scheduler: a token is required');
    this.store = new SchedulerStore(options.dataDir);
    for (const plugin of options.plugins ?? []) this.detach.push(plugin.apply(this.hooks));
    // defaults, tapped last: the first provider to answer wins
    this.detach.push(attach(this.hooks.predictDuration, 'default', (task, t) => predictRemaining(task, t)));
    this.detach.push(attachPromise(this.hooks.placeTasks, 'milp', (input) => milpPlacement(input, { timeLimit: options.placementTimeLimit ?? 0.8 })));
  }

  async start(): Promise<number> {
    const wss = new WebSocketServer({ port: this.options.port, host: this.options.host ?? '127.0.0.1', maxPayload: 256 << 20 });
    this.wss = wss;
    wss.on('connection', (socket) => this.connect(socket));
    await new Promise<void>((resolve, reject) => {
      wss.once('listening', resolve);
      wss.once('error', reject);
    });
    // Workers that were up before a restart get one timeout to come back.
    for (const w of this.store.workers()) if (w.up) this.lastSeen.set(w.id, now());
    const timeout = (this.options.heartbeatTimeoutMs ?? 5000) / 1000;
    this.timer = setInterval(() => this.checkHeartbeats(timeout), Math.min(1000, timeout * 250));
    this.timer.unref();
    return (wss.address() as { port: number }).port;
  }

  async close(): Promise<void> {
    this.closing = true;
    clearInterval(this.timer);
    for (const p of this.peers) p.socket.terminate();
    await new Promise<void>((resolve) => (this.wss ? this.wss.close(() => resolve()) : resolve()));
    await this.replanning;
    for (const d of this.detach.reverse()) d();
    this.store.close();
  }

  private connect(socket: WebSocket): void {
    const peer: Peer = { socket };
    this.peers.add(peer);
    const hello = setTimeout(() => peer.role || socket.close(4001, 'no hello'), 5000);
    socket.on('message', (data, isBinary) => {
      if (this.closing) return;
      let id: number | undefined;
      try {
        if (!isBinary) throw new ProtocolError('malformed', 'messages are binary msgpack');
        const decoded = decode(data as Buffer);
        id = decoded.id;
        this.handle(peer, decoded.message, id);
      } catch (e) {
        const code = e instanceof ProtocolError ? e.code : 'invalid';
        this.send(peer, { type: 'error', code, message: (e as Error).message, ...(id === undefined ? {} : { replyTo: id }) });
        if (code === 'unauthorized') socket.close(4003, 'unauthorized');
      }
    });
    socket.on('close', () => {
      clearTimeout(hello);
      this.peers.delete(peer);
      if (!this.closing && peer.workerId && this.workers.get(peer.workerId) === peer) this.loseWorker(peer.workerId, 'disconnected');
    });
    socket.on('error', () => undefined);
  }

  private send(peer: Peer, message: Record<string, unknown>): void {
    if (peer.socket.readyState === peer.socket.OPEN) peer.socket.send(encode(message));
  }

  private handle(peer: Peer, m: ClientMessage, id: number | undefined): void {
    const reply = (message: Record<string, unknown>) => this.send(peer, { ...message, ...(id === undefined ? {} : { replyTo: id }) });
    if (m.type === 'hello') {
      const expected = Buffer.from(this.options.token);
      const given = Buffer.from(m.token);
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new ProtocolError('unauthorized', 'wrong token');
      peer.role = m.role;
      if (m.role === 'worker') {
        if (!m.devices) throw new ProtocolError('invalid', 'devices: a worker announces its devices');
        const workerId = m.name ?? randomUUID();
        peer.workerId = workerId;
        this.workers.get(workerId)?.socket.terminate();
        this.workers.set(workerId, peer);
        this.lastSeen.set(workerId, now());
        this.store.upsertWorker({ id: workerId, devices: m.devices, lastSeen: now(), up: true });
        this.store.event(now(), null, 'worker-joined', { worker: workerId, devices: m.devices });
        reply({ type: 'welcome', workerId });
        // Reconciling after a gap: tasks it still runs that were moved meanwhile are stopped;
        // tasks it was given but no longer runs (it restarted) go back to the queue.
        const mine = new Set(m.running ?? []);
        for (const id of mine) {
          const t = this.store.task(id);
          if (!t || t.state !== 'running' || t.worker !== workerId) {
            this.send(peer, { type: 'cancel', taskId: id });
            this.store.event(now(), id, 'stopped-stale', { worker: workerId });
          }
        }
        for (const t of this.store.tasks()) {
          if (t.state === 'running' && t.worker === workerId && !mine.has(t.id)) {
            this.store.updateTask(t.id, { state: 'queued', worker: null, devices: [], startedAt: null });
            this.store.event(now(), t.id, 'requeued', { worker: workerId, why: 'the worker no longer runs it' });
          }
        }
        this.replan();
      } else {
        reply({ type: 'welcome' });
      }
      return;
    }
    if (!peer.role) throw new ProtocolError('unauthorized', 'say hello with the token first');
    if (peer.workerId) {
      this.lastSeen.set(peer.workerId, now());
    }
    switch (m.type) {
      case 'submit': {
        if (peer.role !== 'client') throw new ProtocolError('invalid', 'only clients submit');
        const task = this.store.addTask(randomUUID(), { ...m.task, priority: m.task.priority ?? 0 }, now());
        this.hooks.taskEvent.call(task, 'submitted');
        reply({ type: 'submitted', taskId: task.id });
        this.replan();
        return;
      }
      case 'status':
        reply({ type: 'status', tasks: this.store.tasks().map(withoutCheckpointData), workers: this.store.workers(), plan: this.plan ?? null, now: now() });
        return;
      case 'cancel': {
        const task = this.requireTask(m.taskId);
        if (task.state === 'queued' || task.state === 'running') {
          if (task.state === 'running' && task.worker) {
            const w = this.workers.get(task.worker);
            if (w) this.send(w, { type: 'cancel', taskId: task.id });
          }
          this.store.updateTask(task.id, { state: 'cancelled', endedAt: now() });
          this.store.event(now(), task.id, 'cancelled');
          this.replan();
        }
        reply({ type: 'cancelled', taskId: task.id });
        return;
      }
      case 'heartbeat':
        reply({ type: 'heartbeat' });
        return;
      default:
        this.fromWorker(peer, m);
        reply({ type: 'ok' });
    }
  }

  private requireTask(id: string): TaskRecord {
    const task = this.store.task(id);
    if (!task) throw new ProtocolError('not-found', `no task ${id}`);
    return task;
  }

  /** Reports from the executor of a task; only the worker running it may send them. */
  private fromWorker(peer: Peer, m: Exclude<ClientMessage, { type: 'hello' | 'submit' | 'status' | 'cancel' | 'heartbeat' }>): void {
    const task = this.requireTask(m.taskId);
    if (!peer.workerId || task.worker !== peer.workerId || task.state !== 'running') {
      throw new ProtocolError('invalid', `task ${m.taskId} is not running on this worker`);
    }
    const t = now();
    switch (m.type) {
      case 'profile':
        this.store.updateTask(task.id, { samplesPerSecond: m.samplesPerSecond });
        this.store.event(t, task.id, 'profile', { samplesPerSecond: m.samplesPerSecond });
        this.replan();
        return;
      case 'progress':
        this.store.updateTask(task.id, { samplesDone: Math.min(m.samplesDone, task.spec.datasetSize) });
        this.store.event(t, task.id, 'progress', { samplesDone: m.samplesDone, losses: m.losses, exits: m.exits });
        return;
      case 'checkpoint':
        this.store.updateTask(task.id, { checkpoint: m.checkpoint });
        this.store.event(t, task.id, 'checkpoint', m.checkpoint);
        return;
      case 'completed':
      case 'failed':
        this.store.updateTask(task.id, {
          state: m.type,
          endedAt: t,
          ...(m.type === 'completed' ? { result: m.result, samplesDone: task.spec.datasetSize } : { error: m.error }),
        });
        this.store.event(t, task.id, m.type);
        this.hooks.taskEvent.call(this.store.task(task.id)!, m.type);
        this.replan();
    }
  }

  private checkHeartbeats(timeoutSeconds: number): void {
    const t = now();
    for (const w of this.store.workers()) {
      if (!w.up) continue;
      const seen = this.lastSeen.get(w.id) ?? w.lastSeen;
      if (t - seen > timeoutSeconds) {
        this.workers.get(w.id)?.socket.terminate();
        this.loseWorker(w.id, 'heartbeat timeout');
      }
    }
  }

  /** A lost worker's tasks go back to the queue with their checkpoints, and get placed again. */
  private loseWorker(workerId: string, why: string): void {
    this.workers.delete(workerId);
    const w = this.store.workers().find((x) => x.id === workerId);
    if (w) this.store.upsertWorker({ ...w, up: false, lastSeen: now() });
    for (const task of this.store.tasks()) {
      if (task.state === 'running' && task.worker === workerId) {
        this.store.updateTask(task.id, { state: 'queued', worker: null, devices: [], startedAt: null });
        this.store.event(now(), task.id, 'requeued', { worker: workerId, why });
      }
    }
    this.store.event(now(), null, 'worker-lost', { worker: workerId, why });
    this.replan();
  }

  /** Re-plans (serialised), then starts every task planned to start now on free devices. */
  replan(): void {
    if (this.closing) return;
    this.replanning = this.replanning.then(() => this.replanNow()).catch((e) => this.store.event(now(), null, 'replan-error', String(e)));
  }

  private async replanNow(): Promise<void> {
    const t = now();
    const tasks = this.store.tasks();
    const up = [...this.workers.keys()];
    const device = (w: string, d: string) => `${w}/${d}`;
    const devices = up.flatMap((w) => this.store.workers().find((x) => x.id === w)?.devices.map((d) => device(w, d)) ?? []);
    const running = tasks.filter((x) => x.state === 'running' && x.worker && this.workers.has(x.worker));
    const queued = tasks.filter((x) => x.state === 'queued' && x.spec.devices <= devices.length);
    const remaining = (x: TaskRecord) => this.hooks.predictDuration.call(x, t) ?? predictRemaining(x, t);
    const input: PlacementInput = {
      devices,
      groups: Object.fromEntries(devices.map((d) => [d, d.slice(0, d.lastIndexOf('/'))])),
      running: running.map((x) => ({ id: x.id, devices: x.devices.map((d) => device(x.worker!, d)), remaining: remaining(x) })),
      queued: queued.map((x) => ({ id: x.id, size: x.spec.devices, duration: remaining(x), priority: x.spec.priority })),
    };
    if (devices.length === 0) return;
    const plan = input.queued.length === 0 ? undefined : await this.hooks.placeTasks.promise(input);
    this.plan = plan;
    if (!plan) return;
    for (const r of running) {
      if (this.hooks.shouldPreempt.call(r, plan)) {
        const w = this.workers.get(r.worker!);
        if (w) this.send(w, { type: 'cancel', taskId: r.id });
        this.store.updateTask(r.id, { state: 'queued', worker: null, devices: [], startedAt: null });
        this.store.event(t, r.id, 'preempted');
      }
    }
    // Start what the plan starts now, on free devices of one worker (an executor is one process).
    const busy = new Set(this.store.tasks().filter((x) => x.state === 'running').flatMap((x) => x.devices.map((d) => device(x.worker!, d))));
    for (const p of plan.tasks.filter((x) => x.start <= 1e-6).sort((a, b) => a.start - b.start)) {
      const task = this.store.task(p.id);
      if (!task || task.state !== 'queued') continue;
      const byWorker = new Map<string, string[]>();
      for (const w of up) {
        const free = (this.store.workers().find((x) => x.id === w)?.devices ?? []).filter((d) => !busy.has(device(w, d)));
        byWorker.set(w, free);
      }
      const preferred = p.devices[0]?.split('/')[0];
      const worker = [preferred, ...up].find((w) => w && (byWorker.get(w)?.length ?? 0) >= task.spec.devices);
      if (!worker) continue;
      const chosen = byWorker.get(worker)!.slice(0, task.spec.devices);
      for (const d of chosen) busy.add(device(worker, d));
      this.store.updateTask(task.id, { state: 'running', worker, devices: chosen, startedAt: now(), attempts: task.attempts + 1 });
      this.store.event(now(), task.id, 'started', { worker, devices: chosen, attempt: task.attempts + 1 });
      this.send(this.workers.get(worker)!, { type: 'start', taskId: task.id, spec: task.spec, devices: chosen, checkpoint: task.checkpoint });
      this.hooks.taskEvent.call(this.store.task(task.id)!, 'started');
    }
  }
}
