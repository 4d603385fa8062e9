/**
 * The placement problem: tasks that each need `size` devices at once for `duration` seconds
 * (a worst-case prediction), on identical devices some of which are still busy with tasks
 * that started earlier and are not moved. Minimise the makespan (P|size_j|C_max).
 *
 * Times are seconds from now.
 */
export interface QueuedTask {
  id: string;
  size: number;
  duration: number;
  /** Higher first among otherwise equal choices; never at the expense of the makespan. */
  priority?: number;
}

export interface RunningTask {
  id: string;
  devices: readonly string[];
  /** Predicted seconds left (worst case). */
  remaining: number;
}

export interface PlacementInput {
  devices: readonly string[];
  running: readonly RunningTask[];
  queued: readonly QueuedTask[];
  /**
   * The machine (worker) of each device, when there are several: a task runs on devices of
   * one machine. Absent: every device can be combined with every other.
   */
  groups?: Readonly<Record<string, string>>;
}

export interface PlannedTask {
  id: string;
  devices: string[];
  start: number;
  end: number;
}

export interface Plan {
  tasks: PlannedTask[];
  makespan: number;
  /** max(total device-time ÷ devices, longest task): no plan can end earlier. */
  lowerBound: number;
  /** A tighter bound proven by the MILP solver, when it ran (≥ lowerBound). */
  provenBound?: number;
  method: string;
  /** True when the solver proved the makespan optimal. */
  optimal: boolean;
  solveMs: number;
}

/** A task that can never be placed (it needs more devices than exist). */
export class PlacementError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PlacementError';
  }
}
