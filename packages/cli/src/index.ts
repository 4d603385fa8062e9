export { DEFAULT_CONFIG, readConfigFile, validateConfig } from './config.js';
export type { TuneConfig, TaskConfig, Metric } from './config.js';
export { runTune } from './run.js';
export type { RunOptions } from './run.js';
export { pickBest } from './summary.js';
export type { Summary, TaskSummary, TrialSummary } from './summary.js';
export { renderReport } from './report.js';
