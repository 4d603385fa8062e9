import type { Plan } from './placement/types.js';
import type { TaskRecord } from './store.js';

/**
 * The placement as text: one line per device, `#` where a running task is predicted to run,
 * `=` where a queued task is planned, over `width` columns from now to the makespan.
 */
export function renderGantt(tasks: readonly TaskRecord[], plan: Plan | null, devices: readonly string[], now: number, width = 60): string {
  const spans: { device: string; label: string; start: number; end: number; running: boolean }[] = [];
  const byId = new Map(tasks.map((t, i) => [t.id, { t, label: String.fromCharCode(97 + (i % 26)) }]));
  for (const p of plan?.tasks ?? []) {
    const entry = byId.get(p.id);
    for (const d of p.devices) spans.push({ device: d, label: entry?.label ?? '?', start: p.start, end: p.end, running: false });
  }
  for (const t of tasks) {
    if (t.state !== 'running' || !t.worker) continue;
    const left = Math.max(0, t.spec.datasetSize - t.samplesDone) / Math.max(1e-9, t.samplesPerSecond ?? 20 * t.spec.devices);
    for (const d of t.devices) spans.push({ device: `${t.worker}/${d}`, label: byId.get(t.id)!.label.toUpperCase(), start: 0, end: left, running: true });
  }
  const horizon = Math.max(1, ...spans.map((s) => s.end));
  const name = Math.max(6, ...devices.map((d) => d.length));
  const lines = [`${'device'.padEnd(name)} |${'0'.padEnd(width - String(Math.round(horizon)).length)}${Math.round(horizon)}s|`];
  for (const d of devices) {
    const row = Array.from({ length: width }, () => ' ');
    for (const s of spans.filter((x) => x.device === d)) {
      const a = Math.floor((s.start / horizon) * width), b = Math.max(a + 1, Math.ceil((s.end / horizon) * width));
      for (let i = a; i < Math.min(width, b); i++) row[i] = s.label;
    }
    lines.push(`${d.padEnd(name)} |${row.join('')}|`);
  }
  const legend = tasks
    .filter((t) => t.state === 'running' || t.state === 'queued')
    .map((t) => `${byId.get(t.id)!.label}=${t.spec.name}${t.state === 'running' ? ' (running, upper case)' : ''}`);
  if (legend.length) lines.push(`tasks: ${legend.join(', ')}`);
  void now;
  return lines.join('\n');
}
