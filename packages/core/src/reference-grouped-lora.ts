import type { SegmentPlan } from './segment-plan.js';

type Floats = Float32Array | Float64Array;

/**
 * The grouped-LoRA math on host arrays, as a plain per-segment loop: the reference every
 * faster kernel is checked against. Row-major throughout; A_a is d_in×r_a, B_a is r_a×d_out.
 *
 *   forward   S_s = X_s·A_a,   Y_s += s_a·S_s·B_a            (a = adapter of segment s)
 *   backward  dS_s = s_a·dY_s·B_aᵀ,  dX_s += dS_s·A_aᵀ,
 *             dA_a += X_sᵀ·dS_s,     dB_a += s_a·S_sᵀ·dY_s
 */
export interface HostGroupedLoraArgs<F extends Floats> {
  plan: SegmentPlan;
  dIn: number;
  dOut: number;
  x: F;
  A: readonly F[];
  B: readonly F[];
}

/** Adds each segment's LoRA term into `y` (T×d_out) and returns S per segment. */
export function hostGroupedLoraForward<F extends Floats>(args: HostGroupedLoraArgs<F>, y: F): F[] {
  const { plan, dIn, dOut, x, A, B } = args;
  const shrunk: F[] = [];
  forEachSegment(plan, (s, a, r0, rows) => {
    const { rank, scale } = plan.adapters[a];
    const S = new (x.constructor as { new (n: number): F })(rows * rank);
    for (let i = 0; i < rows; i++) {
      for (let k = 0; k < rank; k++) {
        let acc = 0;
        for (let j = 0; j < dIn; j++) acc += x[(r0 + i) * dIn + j] * A[a][j * rank + k];
        S[i * rank + k] = acc;
      }
      for (let o = 0; o < dOut; o++) {
        let acc = 0;
        for (let k = 0; k < rank; k++) acc += S[i * rank + k] * B[a][k * dOut + o];
        y[(r0 + i) * dOut + o] += scale * acc;
      }
    }
    shrunk[s] = S;
  });
  return shrunk;
}

export interface HostGroupedLoraGrads<F extends Floats> {
  dX: F;
  dA: F[];
  dB: F[];
}

export function hostGroupedLoraBackward<F extends Floats>(args: HostGroupedLoraArgs<F>, dY: F): HostGroupedLoraGrads<F> {
  const { plan, dIn, dOut, x, A, B } = args;
  const make = (n: number) => new (x.constructor as { new (n: number): F })(n);
  const dX = make(plan.totalRows * dIn);
  const dA = A.map((a) => make(a.length));
  const dB = B.map((b) => make(b.length));
  forEachSegment(plan, (_s, a, r0, rows) => {
    const { rank, scale } = plan.adapters[a];
    for (let i = 0; i < rows; i++) {
      const row = r0 + i;
      const S = make(rank);
      const dS = make(rank);
      for (let k = 0; k < rank; k++) {
        let acc = 0;
        for (let j = 0; j < dIn; j++) acc += x[row * dIn + j] * A[a][j * rank + k];
        S[k] = acc;
        let g = 0;
        for (let o = 0; o < dOut; o++) g += dY[row * dOut + o] * B[a][k * dOut + o];
        dS[k] = scale * g;
      }
      for (let j = 0; j < dIn; j++) {
        let acc = 0;
        for (let k = 0; k < rank; k++) {
          acc += dS[k] * A[a][j * rank + k];
          dA[a][j * rank + k] += x[row * dIn + j] * dS[k];
        }
        dX[row * dIn + j] += acc;
      }
      for (let k = 0; k < rank; k++) {
        for (let o = 0; o < dOut; o++) dB[a][k * dOut + o] += scale * S[k] * dY[row * dOut + o];
      }
    }
  });
  return { dX, dA, dB };
}

function forEachSegment(plan: SegmentPlan, fn: (segment: number, adapter: number, firstRow: number, rows: number) => void): void {
  for (let s = 0; s < plan.segmentAdapter.length; s++) {
    const a = plan.segmentAdapter[s];
    const rows = plan.segmentOffsets[s + 1] - plan.segmentOffsets[s];
    if (a < 0 || rows === 0) continue;
    fn(s, a, plan.segmentOffsets[s], rows);
  }
}
