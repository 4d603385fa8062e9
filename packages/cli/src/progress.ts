import type { RetireReason, TrialRecord } from '@alto/core';
import type { Trainer } from '@alto/tfjs';

type Counts = { running: number; queued: number; paused: number; completed: number; exited: Record<string, number> };

/**
 * Progress while `alto tune` runs. On a terminal: a live view, one block per task (trials
 * running / queued / paused / exited by reason, best validation loss, samples against the
 * budget, time left). Otherwise: one plain line per event.
 */
export class ProgressView {
  private lastDraw = 0;
  private drawnLines = 0;
  private readonly started = performance.now();

  constructor(
    private readonly trainer: Trainer,
    private readonly out: NodeJS.WriteStream,
    private readonly live: boolean,
  ) {
    const { hooks } = trainer.session;
    hooks.adapterAdmitted.tap('progress', (a) => this.event(`admit   ${a.name}  lr ${a.config.learningRate}  rank ${a.config.rank}  batch ${a.config.batchSize}${a.stepsDone > 0 ? `  (resumed at step ${a.stepsDone})` : ''}`));
    hooks.adapterRetired.tap('progress', (a, reason) => this.event(`${verb(reason)} ${a.name}  after ${a.stepsDone} steps${reason === 'completed' || reason === 'paused' ? '' : `  (${reason})`}`));
    hooks.afterStep.tap('progress', () => this.tick());
  }

  private event(line: string): void {
    if (this.live) this.tick();
    else this.out.write(`[${this.elapsed()}] ${line}\n`);
  }

  private tick(force = false): void {
    if (!this.live) return;
    const now = performance.now();
    if (!force && now - this.lastDraw < 200) return;
    this.lastDraw = now;
    const lines = this.render();
    // move up over the previous frame and redraw it
    this.out.write((this.drawnLines > 0 ? `\x1b[${this.drawnLines}F` : '') + lines.map((l) => `\x1b[2K${l}`).join('\n') + '\n');
    this.drawnLines = lines.length;
  }

  finish(): void {
    if (this.live) this.tick(true);
    else this.out.write(`[${this.elapsed()}] done: ${this.summaryLine()}\n`);
  }

  private elapsed(): string {
    return formatSeconds((performance.now() - this.started) / 1000);
  }

  private render(): string[] {
    const trials = this.trainer.trials;
    const tasks = [...new Set(trials.map((t) => t.task))];
    const lines = [`alto tune  ${this.elapsed()} elapsed  step ${this.trainer.session.step}  ${this.trainer.session.bank.size} adapters resident`];
    for (const task of tasks) {
      const mine = trials.filter((t) => t.task === task);
      const c = counts(mine);
      const best = Math.min(...mine.map((t) => t.bestValLoss ?? Infinity));
      const done = mine.reduce((n, t) => n + t.samples, 0);
      const budget = mine.reduce((n, t) => n + t.plannedSteps * t.config.batchSize, 0);
      const exited = Object.entries(c.exited).map(([r, n]) => `${r} ${n}`).join(', ') || 'none';
      lines.push(`  ${task.padEnd(12)} running ${c.running}  queued ${c.queued}  paused ${c.paused}  done ${c.completed}  exited: ${exited}`);
      lines.push(`  ${''.padEnd(12)} best val ${Number.isFinite(best) ? best.toFixed(4) : '—'}  samples ${done.toLocaleString('en')}/${budget.toLocaleString('en')}  left ≤ ${this.timeLeft(mine)}`);
    }
    return lines;
  }

  /** Worst case: the rest of every unfinished trial at the rate seen so far (exits only shorten it). */
  private timeLeft(mine: TrialRecord[]): string {
    const all = this.trainer.trials;
    const done = all.reduce((n, t) => n + t.samples, 0);
    const seconds = (performance.now() - this.started) / 1000;
    if (done === 0) return '…';
    const remaining = mine.filter((t) => t.status !== 'completed' && t.status !== 'exited').reduce((n, t) => n + (t.plannedSteps - t.steps) * t.config.batchSize, 0);
    return formatSeconds((remaining / done) * seconds);
  }

  private summaryLine(): string {
    const c = counts(this.trainer.trials);
    return `${c.completed} completed, ${Object.values(c.exited).reduce((a, b) => a + b, 0)} exited early`;
  }
}

function counts(trials: TrialRecord[]): Counts {
  const c: Counts = { running: 0, queued: 0, paused: 0, completed: 0, exited: {} };
  for (const t of trials) {
    if (t.status === 'exited') c.exited[t.reason ?? 'unknown'] = (c.exited[t.reason ?? 'unknown'] ?? 0) + 1;
    else c[t.status] += 1;
  }
  return c;
}

function verb(reason: RetireReason): string {
  return reason === 'completed' ? 'done   ' : reason === 'paused' ? 'pause  ' : 'exit   ';
}

export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '—';
  const m = Math.floor(s / 60);
  return m > 0 ? `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${s.toFixed(1)}s`;
}
