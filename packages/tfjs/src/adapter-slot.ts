import * as tf from '@tensorflow/tfjs-core';
import { AdapterBank, AdapterSlot, createOptimizer, hashSeed, Rng, TrialRecord } from '@alto/core';
import type { LinearLayer } from './model.js';
import { seededUniform } from './ops/seeded-uniform.js';
import { tfParamOps } from './param-ops.js';

let variableCounter = 0;

/**
 * A trial's adapter as it starts: on every targeted layer PEFT's init — A ~ U(±1/√d_in)
 * (kaiming-uniform, a = √5), B = 0, seeded per trial and layer — and its optimizer's zero state.
 */
export function newAdapterSlot(trial: TrialRecord, targets: readonly LinearLayer[], admittedAtStep: number): AdapterSlot<tf.Tensor> {
  const { config } = trial;
  const layers = new Map<string, { A: tf.Tensor; B: tf.Tensor }>();
  for (const { name, dIn, dOut } of targets) {
    const bound = 1 / Math.sqrt(dIn);
    const id = ++variableCounter;
    const a0 = seededUniform(new Rng(hashSeed(config.seed, 'lora_A', name)), [dIn, config.rank], -bound, bound);
    const b0 = tf.fill([config.rank, dOut], 0); // on the device where the backend fills (no host zeros to upload)
    layers.set(name, {
      A: tf.variable(a0, true, `alto/${trial.name}/${name}/A#${id}`),
      B: tf.variable(b0, true, `alto/${trial.name}/${name}/B#${id}`),
    });
    tf.dispose([a0, b0]); // the variables hold their own reference to the data
  }
  const slot: AdapterSlot<tf.Tensor> = {
    name: trial.name, config, task: trial.task, trialId: trial.id, stepsDone: 0, samplesDone: 0, layers,
    optimizerState: { slots: [], step: 0 }, admittedAtStep,
  };
  slot.optimizerState = createOptimizer<tf.Tensor>(config.optimizer).init(AdapterBank.params(slot), tfParamOps);
  return slot;
}
