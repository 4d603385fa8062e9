import * as tf from '@tensorflow/tfjs-core';
import { expandRows, SegmentPlan } from '@alto/core';
import { groupedLora, groupedLoraLinear, GroupedLoraProvider } from './ops/grouped-lora.js';

/** What one LoRA-targeted layer does in the current step. */
export interface LayerBinding {
  /** Example-level plan restricted to the adapters that target this layer. */
  plan: SegmentPlan;
  A: tf.Tensor2D[];
  B: tf.Tensor2D[];
  provider?: GroupedLoraProvider;
  /** Multiplier on the LoRA input for dropout (rows × d_in), or null for none. */
  dropoutMask?(rows: number, dIn: number, rowsPerExample: number): tf.Tensor2D | null;
}

/** Answers, for each linear layer a forward pass meets, what LoRA it gets (null for none). */
export interface LoraScope {
  layer(name: string, dIn: number, dOut: number): LayerBinding | null;
}

let current: LoraScope | null = null;

/** Runs `fn` with `scope` deciding the LoRA of every linear layer it meets. */
export function withLoraScope<R>(scope: LoraScope | null, fn: () => R): R {
  const previous = current;
  current = scope;
  try {
    return fn();
  } finally {
    current = previous;
  }
}

/** Whether a forward pass is running inside an ALTO scope. */
export const loraScopeActive = (): boolean => current !== null;

// The current scope's binding of layer `name`, its plan expanded to `rows` (a multiple of the
// step's examples: tokens of sequences), and the dropout mask of its LoRA input if any.
function bindingFor(name: string, rows: number, dIn: number, dOut: number) {
  const binding = current?.layer(name, dIn, dOut);
  if (!binding) return null;
  const perExample = rows / binding.plan.totalRows;
  if (!Number.isInteger(perExample)) {
    throw new RangeError(`layer ${name}: ${rows} rows cannot be split over the ${binding.plan.totalRows} examples of the step`);
  }
  return { binding, plan: expandRows(binding.plan, perExample), mask: binding.dropoutMask?.(rows, dIn, perExample) ?? null };
}

/** Adds the current scope's LoRA for layer `name` to `base` (rows × d_out) from `x` (rows × d_in). */
export function applyLora(name: string, x: tf.Tensor2D, base: tf.Tensor2D): tf.Tensor2D {
  const bound = bindingFor(name, x.shape[0], x.shape[1], base.shape[1]);
  if (!bound) return base;
  const xl = bound.mask ? tf.mul(x, bound.mask) : x;
  return groupedLora(xl as tf.Tensor2D, base, bound.binding.A, bound.binding.B, bound.plan, bound.binding.provider);
}

/**
 * A linear layer for function models: `x·kernel + bias`, plus LoRA when an ALTO scope is
 * active and targets `name`. Outside ALTO it is exactly the plain layer. x may have any
 * number of leading dimensions. Without bias or dropout the base product and the LoRA are
 * one op (groupedLoraLinear), whose backward adds the LoRA's dX into the base's as it writes it.
 */
export function linear(name: string, x: tf.Tensor, kernel: tf.Tensor, bias?: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const dIn = x.shape[x.rank - 1];
    const dOut = kernel.shape[1]!;
    const x2 = tf.reshape(x, [-1, dIn]) as tf.Tensor2D;
    const bound = bindingFor(name, x2.shape[0], dIn, dOut);
    let y: tf.Tensor2D;
    if (bound && !bias && !bound.mask) {
      y = groupedLoraLinear(x2, kernel as tf.Tensor2D, bound.binding.A, bound.binding.B, bound.plan, bound.binding.provider);
    } else {
      y = tf.matMul(x2, kernel as tf.Tensor2D);
      if (bias) y = tf.add(y, bias) as tf.Tensor2D;
      if (bound) {
        const xl = bound.mask ? tf.mul(x2, bound.mask) : x2;
        y = groupedLora(xl as tf.Tensor2D, y, bound.binding.A, bound.binding.B, bound.plan, bound.binding.provider);
      }
    }
    return x.rank === 2 ? y : tf.reshape(y, [...x.shape.slice(0, -1), dOut]);
  });
}

/** A scope that records every linear layer a forward pass meets, and adds nothing. */
export class DiscoveryScope implements LoraScope {
  readonly layers = new Map<string, { dIn: number; dOut: number }>();
  layer(name: string, dIn: number, dOut: number): null {
    const seen = this.layers.get(name);
    if (seen && (seen.dIn !== dIn || seen.dOut !== dOut)) {
      throw new Error(`linear layer "${name}" is used with shapes ${seen.dIn}×${seen.dOut} and ${dIn}×${dOut}; give each use its own name`);
    }
    this.layers.set(name, { dIn, dOut });
    return null;
  }
}
