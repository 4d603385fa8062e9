export { earlyExit } from './plugin.js';
export type { EarlyExitPlugin } from './plugin.js';
export { DEFAULTS, PAPER_DEFAULTS, resolveEarlyExitOptions } from './options.js';
export type { EarlyExitOptions } from './options.js';
export { newCurve, onTrainLoss, onValidLoss, screeningCut } from './detectors.js';
export type { Curve, ScreeningCut, ScreeningEntry } from './detectors.js';
export { medianOf3, relativeNoise, slope } from './curves.js';
