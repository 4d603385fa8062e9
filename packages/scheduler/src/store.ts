import Database from 'better-sqlite3';
import { Packr } from 'msgpackr';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { TaskSpec } from './protocol.js';

// Checkpoints may hold binary (adapter weights as typed arrays): msgpack, not JSON.
const packr = new Packr({ useRecords: false, mapsAsObjects: true, moreTypes: true });

export type TaskState = 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';

export interface TaskRecord {
  id: string;
  spec: TaskSpec;
  state: TaskState;
  submittedAt: number;
  startedAt: number | null;
  endedAt: number | null;
  worker: string | null;
  devices: string[];
  samplesDone: number;
  /** Measured throughput of the current attempt, samples per second (null before profiling). */
  samplesPerSecond: number | null;
  checkpoint: Record<string, unknown> | null;
  result: Record<string, unknown> | null;
  error: string | null;
  attempts: number;
}

export interface WorkerRecord {
  id: string;
  devices: string[];
  lastSeen: number;
  up: boolean;
}

/**
 * Tasks, workers and an event log in SQLite (WAL), written through on every change, so a
 * restarted scheduler comes back with everything it knew.
 */
export class SchedulerStore {
  private readonly db: Database.Database;

  constructor(dataDir: string) {
    mkdirSync(dataDir, { recursive: true });
    this.db = new Database(join(dataDir, 'scheduler.sqlite'));
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS tasks (
        id TEXT PRIMARY KEY, spec TEXT NOT NULL, state TEXT NOT NULL, submitted_at REAL NOT NULL,
        started_at REAL, ended_at REAL, worker TEXT, devices TEXT NOT NULL DEFAULT '[]',
        samples_done INTEGER NOT NULL DEFAULT 0, samples_per_s REAL, checkpoint BLOB, result TEXT,
        error TEXT, attempts INTEGER NOT NULL DEFAULT 0);
      CREATE TABLE IF NOT EXISTS workers (
        id TEXT PRIMARY KEY, devices TEXT NOT NULL, last_seen REAL NOT NULL, up INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, task TEXT, kind TEXT NOT NULL, data TEXT);
    `);
  }

  addTask(id: string, spec: TaskSpec, now: number): TaskRecord {
    this.db.prepare('INSERT INTO tasks (id, spec, state, submitted_at) VALUES (?, ?, ?, ?)').run(id, JSON.stringify(spec), 'queued', now);
    this.event(now, id, 'submitted', { name: spec.name });
    return this.task(id)!;
  }

  updateTask(id: string, fields: Partial<Omit<TaskRecord, 'id' | 'spec' | 'submittedAt'>>): void {
    const columns: Record<string, string> = {
      state: 'state', startedAt: 'started_at', endedAt: 'ended_at', worker: 'worker', devices: 'devices', samplesDone: 'samples_done',
      samplesPerSecond: 'samples_per_s', checkpoint: 'checkpoint', result: 'result', error: 'error', attempts: 'attempts',
    };
    const sets: string[] = [];
    const values: unknown[] = [];
    for (const [k, v] of Object.entries(fields)) {
      sets.push(`${columns[k]} = ?`);
      if (k === 'checkpoint') values.push(v === null ? null : packr.pack(v));
      else values.push(k === 'devices' || k === 'result' ? (v === null ? null : JSON.stringify(v)) : v);
    }
    if (sets.length > 0) this.db.prepare(`UPDATE tasks SET ${sets.join(', ')} WHERE id = ?`).run(...values, id);
  }

  task(id: string): TaskRecord | undefined {
    const row = this.db.prepare('SELECT * FROM tasks WHERE id = ?').get(id) as Record<string, unknown> | undefined;
    return row && toTask(row);
  }

  tasks(): TaskRecord[] {
    return (this.db.prepare('SELECT * FROM tasks ORDER BY submitted_at, id').all() as Record<string, unknown>[]).map(toTask);
  }

  upsertWorker(w: WorkerRecord): void {
    this.db
      .prepare('INSERT INTO workers (id, devices, last_seen, up) VALUES (?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET devices = excluded.devices, last_seen = excluded.last_seen, up = excluded.up')
      .run(w.id, JSON.stringify(w.devices), w.lastSeen, w.up ? 1 : 0);
  }

  workers(): WorkerRecord[] {
    return (this.db.prepare('SELECT * FROM workers ORDER BY id').all() as Record<string, unknown>[]).map((r) => ({
      id: r.id as string,
      devices: JSON.parse(r.devices as string) as string[],
      lastSeen: r.last_seen as number,
      up: r.up === 1,
    }));
  }

  event(at: number, task: string | null, kind: string, data?: unknown): void {
    this.db.prepare('INSERT INTO events (at, task, kind, data) VALUES (?, ?, ?, ?)').run(at, task, kind, data === undefined ? null : JSON.stringify(data));
  }

  events(task: string): { at: number; kind: string; data: unknown }[] {
    return (this.db.prepare('SELECT at, kind, data FROM events WHERE task = ? ORDER BY seq').all(task) as Record<string, unknown>[]).map((r) => ({
      at: r.at as number,
      kind: r.kind as string,
      data: r.data === null ? null : JSON.parse(r.data as string),
    }));
  }

  close(): void {
    this.db.close();
  }
}

function toTask(r: Record<string, unknown>): TaskRecord {
  const json = (v: unknown) => (v === null || v === undefined ? null : JSON.parse(v as string));
  return {
    id: r.id as string,
    spec: JSON.parse(r.spec as string) as TaskSpec,
    state: r.state as TaskState,
    submittedAt: r.submitted_at as number,
    startedAt: (r.started_at as number | null) ?? null,
    endedAt: (r.ended_at as number | null) ?? null,
    worker: (r.worker as string | null) ?? null,
    devices: JSON.parse(r.devices as string) as string[],
    samplesDone: r.samples_done as number,
    samplesPerSecond: (r.samples_per_s as number | null) ?? null,
    checkpoint: r.checkpoint === null || r.checkpoint === undefined ? null : (packr.unpack(r.checkpoint as Buffer) as Record<string, unknown>),
    result: json(r.result),
    error: (r.error as string | null) ?? null,
    attempts: r.attempts as number,
  };
}
