import { beforeAll, describe, expect, it, vi } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { leanVariableGrads } from './lean-grads.js';

// A small deep network with what a transformer's tape holds: a weight used twice (accumulated
// gradients), a multi-output op (split), a custom gradient, a branch off the loss, constants
// that do not depend on the variables, and a softmax cross-entropy.
function network(vars: Record<string, tf.Variable>, x: tf.Tensor2D, labels: tf.Tensor2D): tf.Scalar {
  const scaled = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [a, save] = args as [tf.Tensor, tf.GradSaveFunc];
    save([a]);
    return { value: tf.mul(a, 3), gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [tf.mul(dy, tf.add(tf.mul(saved[0], 0), 3))] };
  });
  let h = tf.relu(tf.matMul(x, vars.w1));
  for (let layer = 0; layer < 6; layer++) {
    // one tidy per layer, as a model should: what the gradients need is kept by the tape
    h = tf.tidy(() => {
      const [left, right] = tf.split(h, 2, 1);
      const mixed = tf.concat([tf.tanh(left), tf.sigmoid(right)], 1);
      const again = tf.matMul(tf.matMul(mixed, vars.w2), tf.transpose(vars.w2)); // w2 twice
      return tf.add(tf.mul(again, 0.5), h);
    });
  }
  const out = tf.matMul(scaled(h) as tf.Tensor2D, vars.w3);
  tf.sum(tf.exp(out)); // off the loss: its saved tensors are freed right after the forward
  return tf.losses.softmaxCrossEntropy(labels, out) as tf.Scalar;
}

describe('leanVariableGrads', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  let run = 0;
  const setup = () => {
    const n = `lean${++run}`;
    const rand = (shape: number[], seed: number) => tf.randomNormal(shape, 0, 0.3, 'float32', seed);
    const vars = { w1: tf.variable(rand([16, 32], 1), true, `${n}/w1`), w2: tf.variable(rand([32, 8], 2), true, `${n}/w2`), w3: tf.variable(rand([32, 5], 3), true, `${n}/w3`), frozen: tf.variable(rand([2], 4), false, `${n}/frozen`) };
    const x = rand([64, 16], 5) as tf.Tensor2D;
    const labels = tf.oneHot(tf.tensor1d(Array.from({ length: 64 }, (_, i) => (i * 7) % 5), 'int32'), 5) as tf.Tensor2D;
    return { vars, x, labels, dispose: () => tf.dispose([...Object.values(vars), x, labels]) };
  };

  it('gives the same loss and gradients as tf.variableGrads, and leaks nothing', () => {
    const { vars, x, labels, dispose } = setup();
    const list = Object.values(vars);
    const expected = tf.variableGrads(() => network(vars, x, labels), list);
    const before = tf.memory().numTensors;
    const got = leanVariableGrads(() => network(vars, x, labels), list);
    expect(Object.keys(got.grads).sort()).toEqual(Object.keys(expected.grads).sort());
    expect(got.value.dataSync()[0]).toBe(expected.value.dataSync()[0]);
    expect(got.grads[vars.frozen.name]).toBeNull(); // as tf.variableGrads: listed, not trainable
    for (const v of [vars.w1, vars.w2, vars.w3]) {
      expect(Array.from(got.grads[v.name].dataSync())).toEqual(Array.from(expected.grads[v.name].dataSync()));
    }
    expect(tf.memory().numTensors - before).toBe(4); // the value and three gradients
    tf.dispose([got.value, expected.value, ...[...Object.values(got.grads), ...Object.values(expected.grads)].filter((g) => g !== null)]);
    dispose();
  });

  it('peaks lower than tf.variableGrads', async () => {
    const { vars, x, labels, dispose } = setup();
    const list = Object.values(vars);
    const peak = async (grads: typeof leanVariableGrads) => {
      const info = await tf.profile(() => {
        const { value, grads: g } = grads(() => network(vars, x, labels), list);
        tf.dispose([value, ...Object.values(g).filter((t) => t !== null)]);
      });
      return info.peakBytes;
    };
    const tfjs = await peak(tf.variableGrads), lean = await peak(leanVariableGrads);
    expect(lean).toBeLessThan(0.7 * tfjs);
    dispose();
  });

  it('frees everything when the forward or the backward fails part way (as out of memory would)', () => {
    const { vars, x, labels, dispose } = setup();
    const before = tf.memory().numTensors;
    const failing = (where: 'forward' | 'backward') => () => {
      const h = tf.relu(tf.matMul(x, vars.w1));
      if (where === 'forward') throw new Error('out of memory (simulated)');
      const broken = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
        const [a, save] = args as [tf.Tensor, tf.GradSaveFunc];
        save([a]);
        return { value: tf.mul(a, 2), gradFunc: () => { throw new Error('out of memory (simulated)'); } };
      });
      return tf.losses.softmaxCrossEntropy(labels, tf.matMul(broken(h) as tf.Tensor2D, vars.w3)) as tf.Scalar;
    };
    expect(() => leanVariableGrads(failing('forward'), [vars.w1, vars.w3])).toThrow(/out of memory/);
    expect(tf.memory().numTensors).toBe(before);
    expect(() => leanVariableGrads(failing('backward'), [vars.w1, vars.w3])).toThrow(/out of memory/);
    expect(tf.memory().numTensors).toBe(before);
    // and the engine is ready for the next one
    const ok = leanVariableGrads(() => network(vars, x, labels), [vars.w1, vars.w2, vars.w3]);
    tf.dispose([ok.value, ...Object.values(ok.grads).filter((g) => g !== null)]);
    expect(tf.memory().numTensors).toBe(before);
    dispose();
  });

  it('gives an output off the loss path zeros made by a kernel, not uploaded from the host', () => {
    const { vars, x, dispose } = setup();
    // split's first output is not used: its gradient is zeros of [64, 3]
    const f = () => {
      const [, used] = tf.split(tf.matMul(x, vars.w1), [3, 29], 1);
      return tf.sum(tf.square(used)) as tf.Scalar;
    };
    const expected = tf.variableGrads(f, [vars.w1]);
    const engine = tf.engine() as unknown as { makeTensor: (values: unknown, shape: number[], dtype: string) => tf.Tensor };
    const made: number[][] = [];
    const original = engine.makeTensor;
    const spy = vi.spyOn(engine, 'makeTensor').mockImplementation(function (this: unknown, values, shape, dtype) {
      made.push([...shape]);
      return original.call(this, values, shape, dtype);
    });
    const before = tf.memory().numTensors;
    let got: ReturnType<typeof leanVariableGrads>;
    try {
      got = leanVariableGrads(f, [vars.w1]);
    } finally {
      spy.mockRestore();
    }
    expect(made.filter((s) => s.length === 2 && s[0] === 64 && s[1] === 3)).toEqual([]);
    expect(Array.from(got.grads[vars.w1.name].dataSync())).toEqual(Array.from(expected.grads[vars.w1.name].dataSync()));
    expect(tf.memory().numTensors - before).toBe(2); // the value and the gradient
    tf.dispose([got.value, got.grads[vars.w1.name], expected.value, expected.grads[vars.w1.name]]);
    dispose();
  });

  it('rejects a loss that no trainable variable reaches, freeing the forward', () => {
    const { vars, x, dispose } = setup();
    const before = tf.memory().numTensors;
    expect(() => leanVariableGrads(() => tf.sum(tf.mul(x, 2)) as tf.Scalar, [vars.w1])).toThrow(/Cannot find a connection/);
    expect(tf.memory().numTensors).toBe(before);
    dispose();
  });
});
