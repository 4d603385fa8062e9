import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { tokenCrossEntropy } from './token-cross-entropy.js';

describe('tokenCrossEntropy', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('equals −log softmax at the target and its gradient, against float64', () => {
    const [B, T, V] = [2, 3, 7];
    const z = tf.randomNormal([B, T, V], 0, 3, 'float32', 11), w = tf.randomNormal([B, T], 0, 1, 'float32', 12);
    const targets = tf.tensor2d([[0, 6, 3], [2, 2, 5]], [B, T], 'int32');
    const zs = z.arraySync() as number[][][], ws = w.arraySync() as number[][], ts = targets.arraySync() as number[][];
    const value = tokenCrossEntropy(z, targets).arraySync() as number[][];
    const grad = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tokenCrossEntropy(a, targets), w)))(z).arraySync() as number[][][];
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < T; t++) {
        const row = zs[b][t], m = Math.max(...row);
        const sum = row.reduce((s, v) => s + Math.exp(v - m), 0);
        expect(value[b][t]).toBeCloseTo(m + Math.log(sum) - row[ts[b][t]], 5);
        row.forEach((v, k) => expect(grad[b][t][k]).toBeCloseTo((Math.exp(v - m) / sum - (k === ts[b][t] ? 1 : 0)) * ws[b][t], 5));
      }
    }
  });

  it('rejects targets of the wrong type or shape', () => {
    const z = tf.zeros([2, 4]);
    expect(() => tokenCrossEntropy(z, tf.tensor1d([0, 1]))).toThrow(/targets must be int32/);
    expect(() => tokenCrossEntropy(z, tf.tensor1d([0, 1, 2], 'int32'))).toThrow(/must be the shape of logits \[2,4\] without its last axis/);
    expect(() => tokenCrossEntropy(tf.zeros([2, 4], 'int32'), tf.tensor1d([0, 1], 'int32'))).toThrow(/logits must be float32/);
    expect(() => tokenCrossEntropy(tf.zeros([2, 0]), tf.tensor1d([0, 1], 'int32'))).toThrow(/non-empty last axis/);
  });
});
