import type { TrialRecord } from '@alto/core';
import type { Summary } from './summary.js';

const COLORS: Record<string, string> = {
  completed: '#2f7d32', diverging: '#c62828', overfitting: '#ef6c00', underperforming: '#757575', nan: '#6a1b9a', error: '#000000',
};

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

/**
 * One self-contained page (inline CSS and SVG, no scripts, no network): per task, every
 * trial's training and validation loss curves with exits marked, the ranking, and the
 * samples early exit saved.
 */
export function renderReport(summary: Summary, trials: readonly TrialRecord[]): string {
  const saved = summary.samplesBudget > 0 ? 1 - summary.samplesTrained / summary.samplesBudget : 0;
  const sections = summary.tasks.map((task) => {
    const mine = trials.filter((t) => t.task === task.name);
    const ranked = [...task.trials].sort((a, b) => (b.metricValue ?? -1) - (a.metricValue ?? -1) || (a.bestValLoss ?? Infinity) - (b.bestValLoss ?? Infinity));
    const rows = ranked.map((t, i) => {
      const key = t.status === 'completed' ? 'completed' : t.reason ?? 'error';
      const best = task.best?.trial === t.id;
      return `<tr${best ? ' class="best"' : ''}><td>${i + 1}</td><td>${esc(t.id)}</td><td>${t.config.learningRate}</td><td>${t.config.rank}</td><td>${t.config.alpha}</td><td>${t.config.batchSize}</td>` +
        `<td><span class="dot" style="background:${COLORS[key] ?? '#000'}"></span>${esc(t.status === 'completed' ? 'completed' : `exited: ${t.reason}`)}</td><td>${t.steps}/${t.config.steps}</td><td>${t.samples}</td>` +
        `<td>${t.bestValLoss?.toFixed(4) ?? '—'}</td><td>${t.metricValue === null ? '—' : (100 * t.metricValue).toFixed(1) + '%'}</td></tr>`;
    });
    const budget = task.trials.reduce((n, t) => n + t.config.steps * t.config.batchSize, 0);
    const trained = task.trials.reduce((n, t) => n + t.samples, 0);
    return `<section><h2>${esc(task.name)}</h2>
<p>Metric: ${task.metric}. Best: <b>${task.best ? `${esc(task.best.trial)} — lr ${task.best.config.learningRate}, rank ${task.best.config.rank}, batch ${task.best.config.batchSize}, validation loss ${task.best.valLoss?.toFixed(4)}${task.best.metricValue !== null ? `, ${task.metric} ${(100 * task.best.metricValue).toFixed(1)}%` : ''}` : 'none'}</b>.
Samples: ${trained.toLocaleString('en')} of ${budget.toLocaleString('en')} (${(100 * (1 - trained / Math.max(budget, 1))).toFixed(1)}% saved).</p>
<div class="charts">${chart('training loss', mine, 'train')}${chart('validation loss', mine, 'valid')}</div>
<table><thead><tr><th>#</th><th>trial</th><th>lr</th><th>rank</th><th>α</th><th>batch</th><th>status</th><th>steps</th><th>samples</th><th>best val</th><th>${task.metric === 'exact_match' ? 'exact match' : 'metric'}</th></tr></thead><tbody>${rows.join('')}</tbody></table></section>`;
  });
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ALTO tuning report</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#222;max-width:1200px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 6px;border-bottom:1px solid #ddd}
table{border-collapse:collapse;width:100%;font-size:12px}th,td{padding:3px 6px;border-bottom:1px solid #eee;text-align:right}
th:nth-child(2),td:nth-child(2),th:nth-child(7),td:nth-child(7){text-align:left}tr.best{background:#e8f5e9;font-weight:600}
.dot{display:inline-block;width:9px;height:9px;border-radius:50%;margin-right:5px}.charts{display:flex;gap:16px;flex-wrap:wrap}
figure{margin:0}figcaption{font-size:12px;color:#555}.legend span{margin-right:14px;font-size:12px}.kpi{display:flex;gap:28px;margin:10px 0}
.kpi div{background:#f5f5f5;padding:8px 12px;border-radius:6px}.kpi b{display:block;font-size:18px}
</style></head><body>
<h1>ALTO tuning report</h1>
<div class="kpi"><div><b>${summary.mode}</b>mode</div><div><b>${summary.wallSeconds.toFixed(1)} s</b>wall time on ${esc(summary.backend)}</div>
<div><b>${summary.samplesTrained.toLocaleString('en')}</b>samples trained of ${summary.samplesBudget.toLocaleString('en')}</div><div><b>${(100 * saved).toFixed(1)}%</b>samples saved by early exit</div></div>
<p class="legend">${Object.entries(COLORS).map(([k, c]) => `<span><span class="dot" style="background:${c}"></span>${k}</span>`).join('')} — a cross marks where a trial exited.</p>
${sections.join('\n')}
</body></html>
`;
}

/** Loss curves of every trial of a task as an SVG line chart (log-scaled losses). */
function chart(title: string, trials: readonly TrialRecord[], kind: 'train' | 'valid'): string {
  const W = 560;
  const H = 260;
  const pad = { l: 46, r: 10, t: 10, b: 26 };
  const series = trials.map((t) => ({ t, points: smooth(kind === 'train' ? t.trainLoss : t.validLoss, kind === 'train' ? 0.2 : 1).filter((p) => Number.isFinite(p.loss) && p.loss > 0) }));
  const all = series.flatMap((s) => s.points);
  if (all.length === 0) return `<figure><figcaption>${title}: no data</figcaption></figure>`;
  const maxStep = Math.max(...trials.map((t) => t.plannedSteps), 1);
  const lo = Math.log(Math.min(...all.map((p) => p.loss)));
  const hi = Math.log(Math.min(Math.max(...all.map((p) => p.loss)), Math.exp(lo) * 1e3));
  const x = (s: number) => pad.l + ((W - pad.l - pad.r) * s) / maxStep;
  const y = (v: number) => pad.t + ((H - pad.t - pad.b) * (hi - Math.min(Math.log(v), hi))) / Math.max(hi - lo, 1e-9);
  const lines = series.map(({ t, points }) => {
    const key = t.status === 'completed' ? 'completed' : t.reason ?? 'error';
    const color = COLORS[key] ?? '#000';
    const d = points.map((p, i) => `${i ? 'L' : 'M'}${x(p.step).toFixed(1)},${y(p.loss).toFixed(1)}`).join('');
    const last = points.at(-1);
    const mark = t.status === 'exited' && last ? `<path d="M${x(last.step) - 3},${y(last.loss) - 3}l6,6m0,-6l-6,6" stroke="${color}" stroke-width="1.5"/>` : '';
    return `<path d="${d}" fill="none" stroke="${color}" stroke-opacity="0.75" stroke-width="1.2"><title>${esc(t.id)} lr ${t.config.learningRate} rank ${t.config.rank} batch ${t.config.batchSize}</title></path>${mark}`;
  });
  const ticks = [lo, (lo + hi) / 2, hi].map((v) => `<text x="${pad.l - 4}" y="${y(Math.exp(v)) + 4}" text-anchor="end" font-size="10">${Math.exp(v).toPrecision(2)}</text>`);
  return `<figure><svg width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">
<rect x="${pad.l}" y="${pad.t}" width="${W - pad.l - pad.r}" height="${H - pad.t - pad.b}" fill="#fafafa" stroke="#ddd"/>${ticks.join('')}
<text x="${W / 2}" y="${H - 6}" text-anchor="middle" font-size="10">step (0–${maxStep})</text>${lines.join('')}</svg><figcaption>${title} (log scale)</figcaption></figure>`;
}

function smooth(points: readonly { step: number; loss: number }[], alpha: number): { step: number; loss: number }[] {
  let ema: number | null = null;
  return points.map((p) => {
    ema = ema === null || !Number.isFinite(ema) ? p.loss : alpha * p.loss + (1 - alpha) * ema;
    return { step: p.step, loss: ema };
  });
}
