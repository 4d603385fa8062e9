export * from './placement/types.js';
export { bestListSchedule, listSchedule, lptOrder, makespanLowerBound } from './placement/list-schedule.js';
export { milpPlacement, isFeasible } from './placement/milp.js';
export type { MilpOptions } from './placement/milp.js';
