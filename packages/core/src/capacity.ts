/**
 * The executor's capacity model, fitted online from the steps it has run:
 *   bytes(step) ≈ m0 + m1·rows + m2·Σrank      (ALTO's M(B) = k0 + k1·B·L, with L fixed per
 *                                               model, plus the adapters' own weights)
 *   ms(step)    ≈ t0 + t1·rows + t2·Σrank + t3·adapters
 * `rows` counts examples of the step. Least squares with a small ridge term, so that a few
 * similar profiling steps still give a usable (if cautious) fit.
 */
export interface StepShape {
  rows: number;
  rankSum: number;
  adapters: number;
}

export interface StepObservation extends StepShape {
  bytes: number;
  ms: number;
}

export class CapacityModel {
  private readonly observations: StepObservation[] = [];
  private memory: number[] | null = null;
  private time: number[] | null = null;

  constructor(private readonly maxObservations = 64) {}

  observe(o: StepObservation): void {
    this.observations.push(o);
    if (this.observations.length > this.maxObservations) this.observations.shift();
    this.memory = fit(this.observations.map((x) => [1, x.rows, x.rankSum]), this.observations.map((x) => x.bytes));
    this.time = fit(this.observations.map((x) => [1, x.rows, x.rankSum, x.adapters]), this.observations.map((x) => x.ms));
  }

  /** Distinct step shapes seen so far: the fit is trusted from 2 on. */
  get distinctShapes(): number {
    return new Set(this.observations.map((o) => `${o.rows}/${o.rankSum}`)).size;
  }

  get observed(): number {
    return this.observations.length;
  }

  predictBytes(s: StepShape): number | null {
    if (!this.memory) return null;
    const [m0, m1, m2] = this.memory;
    // The rows term can only grow memory: guard against a fit from nearly collinear steps.
    return m0 + Math.max(m1, 0) * s.rows + Math.max(m2, 0) * s.rankSum;
  }

  predictMs(s: StepShape): number | null {
    if (!this.time) return null;
    const [t0, t1, t2, t3] = this.time;
    return Math.max(0, t0 + Math.max(t1, 0) * s.rows + Math.max(t2, 0) * s.rankSum + Math.max(t3, 0) * s.adapters);
  }
}

/** Ridge least squares: argmin |Xw − y|² + λ|w₁..|² (the intercept is not shrunk). */
function fit(X: number[][], y: number[]): number[] {
  const n = X[0].length;
  const scale = Array.from({ length: n }, (_, j) => Math.max(1e-12, ...X.map((r) => Math.abs(r[j]))));
  const A = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  const b = new Array<number>(n).fill(0);
  X.forEach((row, i) => {
    const r = row.map((v, j) => v / scale[j]);
    for (let p = 0; p < n; p++) {
      b[p] += r[p] * y[i];
      for (let q = 0; q < n; q++) A[p][q] += r[p] * r[q];
    }
  });
  for (let p = 1; p < n; p++) A[p][p] += 1e-6 * X.length;
  const w = solve(A, b);
  return w.map((v, j) => v / scale[j]);
}

function solve(A: number[][], b: number[]): number[] {
  const n = b.length;
  const M = A.map((row, i) => [...row, b[i]]);
  for (let c = 0; c < n; c++) {
    let pivot = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(M[r][c]) > Math.abs(M[pivot][c])) pivot = r;
    [M[c], M[pivot]] = [M[pivot], M[c]];
    if (Math.abs(M[c][c]) < 1e-300) continue;
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = M[r][c] / M[c][c];
      for (let k = c; k <= n; k++) M[r][k] -= f * M[c][k];
    }
  }
  return M.map((row, i) => (Math.abs(row[i]) < 1e-300 ? 0 : row[n] / row[i]));
}

export interface AdmissionCandidate {
  name: string;
  batchSize: number;
  rank: number;
}

/**
 * ALTO's greedy admission order: largest per-adapter batch first, equal batch sizes kept
 * together (in queue order). When backfilling a freed slot, candidates with the freed
 * slot's batch size go first.
 */
export function greedyAdmissionOrder<C extends AdmissionCandidate>(candidates: readonly C[], freedBatchSize: number | null): C[] {
  const indexed = candidates.map((c, i) => ({ c, i }));
  indexed.sort((a, b) => {
    if (freedBatchSize !== null) {
      const sa = a.c.batchSize === freedBatchSize ? 0 : 1;
      const sb = b.c.batchSize === freedBatchSize ? 0 : 1;
      if (sa !== sb) return sa - sb;
    }
    return b.c.batchSize - a.c.batchSize || a.i - b.i;
  });
  return indexed.map((x) => x.c);
}

/**
 * Picks, in order, the candidates that fit next to what is resident: each is taken if the
 * predicted step still fits the budget with the safety margin, otherwise skipped for a
 * smaller one ("anything that fits").
 */
export function admitWithinBudget<C extends AdmissionCandidate>(
  ordered: readonly C[],
  resident: StepShape,
  limits: { maxAdapters: number; budgetBytes: number; safetyMargin: number; maxRows?: number },
  model: CapacityModel,
): C[] {
  const chosen: C[] = [];
  const shape = { ...resident };
  for (const c of ordered) {
    if (shape.adapters >= limits.maxAdapters) break;
    const next = { rows: shape.rows + c.batchSize, rankSum: shape.rankSum + c.rank, adapters: shape.adapters + 1 };
    if (limits.maxRows !== undefined && next.rows > limits.maxRows) continue;
    const bytes = model.predictBytes(next);
    if (bytes !== null && bytes > limits.budgetBytes * (1 - limits.safetyMargin)) continue;
    chosen.push(c);
    Object.assign(shape, next);
  }
  return chosen;
}
