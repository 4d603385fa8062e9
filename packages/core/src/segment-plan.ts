/**
 * The segment plan of one step: which rows of the concatenated batch belong to which adapter.
 *
 * Worked example: adapters a (rank 4, α 8), b (rank 8, α 8) and c (rank 2, α 4) contribute
 * 2, 0 and 3 examples; each example is one row.
 *
 *   segments          a        b       c
 *   segmentOffsets  [ 0,       2,      2,        5 ]   // S + 1 entries, the last is totalRows
 *   segmentAdapter  [ 0,       1,      2 ]              // index into `adapters`
 *   rows            0..1     (none)  2..4
 *   adapters[i]      {a,4,2}  {b,8,1} {c,2,2}           // name, rank, scale = α / r
 *   maxRank = 8, totalRows = 5
 *
 * b's segment has length 0: it is kept (its optimizer may still step on weight decay
 * alone) but no kernel touches it. An adapter may own several segments, or none
 * (`segmentAdapter` entries of -1 mark rows that get no LoRA, e.g. a layer b does not
 * target). When a layer sees each example as several rows (a sequence of L tokens),
 * `expandRows(plan, L)` gives the row-level plan: offsets multiplied by L.
 */
export interface SegmentPlan {
  readonly totalRows: number;
  /** Length S + 1, non-decreasing, starting at 0 and ending at totalRows. */
  readonly segmentOffsets: Int32Array;
  /** Length S; index into `adapters`, or -1 for rows without LoRA. */
  readonly segmentAdapter: Int32Array;
  readonly adapters: readonly PlannedAdapter[];
  readonly maxRank: number;
}

export interface PlannedAdapter {
  readonly name: string;
  readonly rank: number;
  readonly scale: number;
}

export interface PlanEntry {
  adapter: PlannedAdapter;
  rows: number;
}

/** Builds a plan with one segment per entry, in order. */
export function buildSegmentPlan(entries: readonly PlanEntry[]): SegmentPlan {
  const adapters: PlannedAdapter[] = [];
  const index = new Map<string, number>();
  const offsets = new Int32Array(entries.length + 1);
  const segAdapter = new Int32Array(entries.length);
  entries.forEach((e, s) => {
    if (!Number.isInteger(e.rows) || e.rows < 0) throw new RangeError(`segment ${s} (${e.adapter.name}): rows must be an integer ≥ 0, got ${e.rows}`);
    let a = index.get(e.adapter.name);
    if (a === undefined) {
      a = adapters.length;
      index.set(e.adapter.name, a);
      adapters.push(e.adapter);
    }
    segAdapter[s] = a;
    offsets[s + 1] = offsets[s] + e.rows;
  });
  return {
    totalRows: offsets[entries.length],
    segmentOffsets: offsets,
    segmentAdapter: segAdapter,
    adapters,
    maxRank: adapters.reduce((m, a) => Math.max(m, a.rank), 0),
  };
}

/** Row-level plan when every example of `plan` spans `rowsPerExample` rows. */
export function expandRows(plan: SegmentPlan, rowsPerExample: number): SegmentPlan {
  if (rowsPerExample === 1) return plan;
  return {
    ...plan,
    totalRows: plan.totalRows * rowsPerExample,
    segmentOffsets: plan.segmentOffsets.map((o) => o * rowsPerExample),
  };
}

/** Rows of adapter `a` as [start, end) ranges. */
export function rowsOfAdapter(plan: SegmentPlan, a: number): [number, number][] {
  const out: [number, number][] = [];
  for (let s = 0; s < plan.segmentAdapter.length; s++) {
    if (plan.segmentAdapter[s] === a) out.push([plan.segmentOffsets[s], plan.segmentOffsets[s + 1]]);
  }
  return out;
}

/** Checks a plan's internal consistency; throws a RangeError naming the first defect. */
export function validateSegmentPlan(plan: SegmentPlan): void {
  const S = plan.segmentAdapter.length;
  if (plan.segmentOffsets.length !== S + 1) throw new RangeError(`segmentOffsets has ${plan.segmentOffsets.length} entries, expected ${S + 1}`);
  if (plan.segmentOffsets[0] !== 0) throw new RangeError('segmentOffsets must start at 0');
  for (let s = 0; s < S; s++) {
    if (plan.segmentOffsets[s + 1] < plan.segmentOffsets[s]) throw new RangeError(`segment ${s} has negative length`);
    const a = plan.segmentAdapter[s];
    if (a < -1 || a >= plan.adapters.length) throw new RangeError(`segment ${s} names adapter ${a}, but there are ${plan.adapters.length}`);
  }
  if (plan.segmentOffsets[S] !== plan.totalRows) throw new RangeError(`segments cover ${plan.segmentOffsets[S]} rows, totalRows is ${plan.totalRows}`);
}
