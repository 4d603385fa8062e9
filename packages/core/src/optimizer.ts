import type { OptimizerConfig } from './adapter-config.js';

/**
 * The few tensor operations an optimizer needs. The optimizers below are written once
 * against this interface; each framework supplies it (tf ops in @alto/tfjs, plain arrays
 * in `HostOps` for tests and host-side use). Results of the arithmetic methods are new
 * values; `scope` frees the intermediates a function created, except what it returns.
 */
export interface ParamOps<T> {
  zerosLike(x: T): T;
  /** a·x + b·y */
  axpby(a: number, x: T, b: number, y: T): T;
  mul(x: T, y: T): T;
  /** x / (sqrt(y) · c + eps) */
  divSqrtEps(x: T, y: T, c: number, eps: number): T;
  /** Writes `value` into the persistent `target` (a parameter or a state slot). */
  assign(target: T, value: T): void;
  scope(fn: () => void): void;
  dispose(x: T): void;
  /**
   * Optional: one whole AdamW step of these tensors in place (m and v are the moments), with the
   * arithmetic of the composite step below. Returns false to leave the step to the composite.
   */
  adamwInPlace?(params: readonly T[], grads: readonly T[], m: readonly T[], v: readonly T[], hyper: AdamWHyper): boolean;
}

/** The scalars of one AdamW step (bc1 = 1 − β1^step, bc2 = 1 − β2^step). */
export interface AdamWHyper {
  learningRate: number;
  weightDecay: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  bc1: number;
  bc2: number;
}

export interface OptimizerState<T> {
  /** Per-parameter slots, in the order of the parameters. */
  slots: T[][];
  step: number;
}

/** Hyperparameters of one adapter's update; each adapter has its own. */
export interface UpdateHyper {
  learningRate: number;
  weightDecay: number;
}

export interface AdapterOptimizer<T> {
  readonly config: OptimizerConfig;
  init(params: readonly T[], ops: ParamOps<T>): OptimizerState<T>;
  /** Applies one update to `params` in place from `grads`, advancing `state.step`. */
  update(params: readonly T[], grads: readonly T[], state: OptimizerState<T>, hyper: UpdateHyper, ops: ParamOps<T>): void;
  dispose(state: OptimizerState<T>, ops: ParamOps<T>): void;
}

/**
 * AdamW (Loshchilov & Hutter) with bias correction and decoupled weight decay, as in
 * torch.optim.AdamW: p ← p·(1 − lr·wd) − lr·m̂ / (√v̂ + ε).
 */
export function adamw<T>(config: Extract<OptimizerConfig, { type: 'adamw' }>): AdapterOptimizer<T> {
  const b1 = config.beta1 ?? 0.9;
  const b2 = config.beta2 ?? 0.999;
  const eps = config.epsilon ?? 1e-8;
  return {
    config,
    init: (params, ops) => ({ slots: params.map((p) => [ops.zerosLike(p), ops.zerosLike(p)]), step: 0 }),
    update(params, grads, state, { learningRate: lr, weightDecay: wd }, ops) {
      state.step += 1;
      const bc1 = 1 - Math.pow(b1, state.step);
      const bc2 = 1 - Math.pow(b2, state.step);
      const hyper = { learningRate: lr, weightDecay: wd, beta1: b1, beta2: b2, epsilon: eps, bc1, bc2 };
      if (ops.adamwInPlace?.(params, grads, state.slots.map((s) => s[0]), state.slots.map((s) => s[1]), hyper)) return;
      ops.scope(() => {
        params.forEach((p, i) => {
          const [m, v] = state.slots[i];
          const g = grads[i];
          const m1 = ops.axpby(b1, m, 1 - b1, g);
          const v1 = ops.axpby(b2, v, 1 - b2, ops.mul(g, g));
          ops.assign(m, m1);
          ops.assign(v, v1);
          // m̂/(√v̂+ε) = (m/bc1) / (√v/√bc2 + ε)
          const direction = ops.divSqrtEps(m1, v1, 1 / Math.sqrt(bc2), eps);
          ops.assign(p, ops.axpby(1 - lr * wd, p, -lr / bc1, direction));
        });
      });
    },
    dispose: (state, ops) => state.slots.flat().forEach((s) => ops.dispose(s)),
  };
}

/** SGD with optional momentum (torch.optim.SGD semantics, L2 weight decay added to the gradient). */
export function sgd<T>(config: Extract<OptimizerConfig, { type: 'sgd' }>): AdapterOptimizer<T> {
  const mu = config.momentum ?? 0;
  return {
    config,
    init: (params, ops) => ({ slots: mu > 0 ? params.map((p) => [ops.zerosLike(p)]) : params.map(() => []), step: 0 }),
    update(params, grads, state, { learningRate: lr, weightDecay: wd }, ops) {
      state.step += 1;
      ops.scope(() => {
        params.forEach((p, i) => {
          let d = wd > 0 ? ops.axpby(1, grads[i], wd, p) : grads[i];
          if (mu > 0) {
            const [buf] = state.slots[i];
            // torch: the first step's buffer is the gradient itself
            const b1 = state.step === 1 ? ops.axpby(1, d, 0, d) : ops.axpby(mu, buf, 1, d);
            ops.assign(buf, b1);
            d = b1;
          }
          ops.assign(p, ops.axpby(1, p, -lr, d));
        });
      });
    },
    dispose: (state, ops) => state.slots.flat().forEach((s) => ops.dispose(s)),
  };
}

export function createOptimizer<T>(config: OptimizerConfig): AdapterOptimizer<T> {
  return config.type === 'adamw' ? adamw<T>(config) : sgd<T>(config);
}

/** ParamOps over Float32Array, for host-side training and tests. */
export const hostOps: ParamOps<Float32Array> = {
  zerosLike: (x) => new Float32Array(x.length),
  axpby: (a, x, b, y) => x.map((xi, i) => a * xi + b * y[i]),
  mul: (x, y) => x.map((xi, i) => xi * y[i]),
  divSqrtEps: (x, y, c, eps) => x.map((xi, i) => xi / (Math.sqrt(y[i]) * c + eps)),
  assign: (t, v) => t.set(v),
  scope: (fn) => fn(),
  dispose: () => {},
};
