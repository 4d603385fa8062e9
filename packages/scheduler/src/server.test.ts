import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { attachPromise } from '@alto/core';
import { decode, encode, listSchedule, predictRemaining, ProtocolError, SchedulerConnection, SchedulerServer, type TaskRecord } from '@alto/scheduler';

const spec = { name: 't', baseModel: 'm', devices: 2, datasetSize: 1000, searchSpace: {}, priority: 0 };
const record = (over: Partial<TaskRecord> = {}): TaskRecord => ({
  id: 'x', spec, state: 'queued', submittedAt: 0, startedAt: null, endedAt: null, worker: null, devices: [], samplesDone: 0,
  samplesPerSecond: null, checkpoint: null, result: null, error: null, attempts: 0, ...over,
});

describe('duration prediction', () => {
  it('uses the prior before profiling, the measured throughput after, and the slower of that and the progress so far', () => {
    expect(predictRemaining(record(), 0, 10)).toBeCloseTo(1000 / 20); // 10 samples/s per device × 2 devices
    expect(predictRemaining(record({ samplesPerSecond: 50 }), 0)).toBeCloseTo(20);
    // 300 samples in 30 s is 10/s: slower than the profile, so it is the worst case that counts
    const running = record({ state: 'running', startedAt: 100, samplesDone: 300, samplesPerSecond: 50 });
    expect(predictRemaining(running, 130)).toBeCloseTo(700 / 10);
  });
});

describe('protocol', () => {
  it('round-trips a message and names the bad field of an invalid one', () => {
    expect(decode(encode({ id: 3, type: 'cancel', taskId: 'abc' }))).toEqual({ id: 3, message: { type: 'cancel', taskId: 'abc' } });
    const bad = () => decode(encode({ type: 'submit', task: { ...spec, devices: 0 } }));
    expect(bad).toThrow(ProtocolError);
    expect(bad).toThrow(/task\.devices: must be an integer in \[1, 4096\]/);
    expect(() => decode(encode({ type: 'status', extra: 1 }))).toThrow(/unknown field extra/);
  });
});

describe('policies are hooks', () => {
  it('a plugin that taps placeTasks replaces the MILP placement', async () => {
    const server = new SchedulerServer({
      port: 0, dataDir: mkdtempSync(join(tmpdir(), 'alto-sched-')), token: 'tok',
      plugins: [{
        name: 'fifo',
        apply: (hooks) => attachPromise(hooks.placeTasks, 'fifo', async (input) => ({ ...listSchedule(input, input.queued.map((_, i) => i)), method: 'fifo' })),
      }],
    });
    const port = await server.start();
    const url = `ws://127.0.0.1:${port}`;
    const worker = await SchedulerConnection.open(url, { role: 'worker', token: 'tok', name: 'w', devices: ['0', '1', '2', '3'] });
    const started: string[] = [];
    worker.onPush = (m) => m.type === 'start' && started.push(m.taskId as string);
    const client = await SchedulerConnection.open(url, { role: 'client', token: 'tok' });
    for (let i = 0; i < 3; i++) await client.request({ type: 'submit', task: { ...spec, name: `t${i}` } });
    await new Promise((r) => setTimeout(r, 300));
    const status = await client.request({ type: 'status' });
    expect((status.plan as { method: string }).method).toBe('fifo');
    expect(started).toHaveLength(2); // two 2-device tasks fill 4 devices; the third waits
    client.close();
    worker.close();
    await server.close();
  });
});
