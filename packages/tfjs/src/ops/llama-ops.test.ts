import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { initBackend } from '../backend.js';
import { rope, swiglu } from './llama-ops.js';

const close = (a: tf.Tensor, b: tf.Tensor) => {
  expect(a.shape).toEqual(b.shape);
  expect(tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]).toBeLessThan(1e-5);
};

describe('Llama block ops with lean gradients', () => {
  beforeAll(async () => {
    await initBackend('cpu');
  });

  it('swiglu: value and gradients of gate and up equal the tfjs-ops composite, keeping only its inputs', async () => {
    const g = tf.randomNormal([3, 5, 8], 0, 2, 'float32', 1), u = tf.randomNormal([3, 5, 8], 0, 1, 'float32', 2), w = tf.randomNormal([3, 5, 8], 0, 1, 'float32', 3);
    const composite = (a: tf.Tensor, b: tf.Tensor) => tf.mul(tf.mul(a, tf.sigmoid(a)), b);
    close(swiglu(g, u), composite(g, u));
    const ours = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(swiglu(a, b), w)))([g, u]);
    const ref = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(composite(a, b), w)))([g, u]);
    ours.forEach((t, i) => close(t, ref[i]));
  });

  it('rope: value and gradient equal the tfjs-ops composite', () => {
    const x = tf.randomNormal([2, 3, 4, 6], 0, 1, 'float32', 4), w = tf.randomNormal([2, 3, 4, 6], 0, 1, 'float32', 5);
    const cos = tf.randomUniform([4, 6], -1, 1, 'float32', 6), sin = tf.randomUniform([4, 6], -1, 1, 'float32', 7);
    const composite = (a: tf.Tensor) => {
      const [a1, a2] = tf.split(a, 2, -1);
      return tf.add(tf.mul(a, cos), tf.mul(tf.concat([tf.neg(a2), a1], -1), sin));
    };
    close(rope(x, cos, sin), composite(x));
    close(tf.grad((a: tf.Tensor) => tf.sum(tf.mul(rope(a, cos, sin), w)))(x), tf.grad((a: tf.Tensor) => tf.sum(tf.mul(composite(a), w)))(x));
  });

  it('reject mismatched shapes, odd head dims and non-float inputs, naming the op', () => {
    const a = tf.zeros([2, 4]), b = tf.zeros([2, 5]);
    expect(() => swiglu(a, b)).toThrow(/swiglu: gate and up must have one shape/);
    expect(() => swiglu(tf.zeros([2, 4], 'int32'), tf.zeros([2, 4], 'int32'))).toThrow(/float32/);
    expect(() => rope(tf.zeros([2, 3, 5]), tf.zeros([3, 5]), tf.zeros([3, 5]))).toThrow(/dh even/);
    expect(() => rope(tf.zeros([2, 3, 4]), tf.zeros([2, 4]), tf.zeros([3, 4]))).toThrow(/cos and sin must be \[3, 4\]/);
  });
});
