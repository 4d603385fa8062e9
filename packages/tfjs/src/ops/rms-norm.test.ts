import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
// tfjs-core registers no gradient functions by itself.
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { expectClose } from '../test-support/close.js';
import { rmsNorm } from './rms-norm.js';

// A float64 reference of y = x / sqrt(mean(x²) + eps) · g and of the gradients of Σ y·w.
function reference(x: number[][], g: number[], w: number[][], eps: number) {
  const cols = g.length;
  const y: number[][] = [], dx: number[][] = [], dg = new Array<number>(cols).fill(0);
  for (let r = 0; r < x.length; ++r) {
    const inv = 1 / Math.sqrt(x[r].reduce((s, v) => s + v * v, 0) / cols + eps);
    y.push(x[r].map((v, c) => v * inv * g[c]));
    const s = x[r].reduce((acc, v, c) => acc + g[c] * w[r][c] * v, 0) / cols;
    dx.push(x[r].map((v, c) => inv * (g[c] * w[r][c] - v * inv * inv * s)));
    x[r].forEach((v, c) => { dg[c] += w[r][c] * v * inv; });
  }
  return { y, dx, dg };
}


describe('rmsNorm', () => {
  it('normalises the last axis and gives the gradients of x and g (cpu, against float64)', async () => {
    await tf.setBackend('cpu');
    const x = [[0.5, -1.5, 2, 0.25, -0.75], [3, 1, -2, 0.5, 0], [-0.1, 0.2, 0.3, -0.4, 0.05]];
    const g = [1.5, -0.5, 1, 2, 0.25];
    const w = [[1, -2, 0.5, 1, 3], [-1, 0.5, 2, -0.5, 1], [2, 1, -1, 0.25, -3]];
    const want = reference(x, g, w, 1e-5);
    const xt = tf.tensor2d(x), gt = tf.tensor1d(g), wt = tf.tensor2d(w);
    expectClose(rmsNorm(xt, gt, 1e-5).dataSync(), want.y.flat(), 1e-6);
    const [dx, dg] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(rmsNorm(a, b, 1e-5), wt)))([xt, gt]);
    expectClose(dx.dataSync(), want.dx.flat(), 1e-5);
    expectClose(dg.dataSync(), want.dg, 1e-5);
  });

  it('works on any rank, normalising the last axis', async () => {
    await tf.setBackend('cpu');
    const x = tf.tensor3d([[[1, 2], [3, 4]], [[-1, 0], [0.5, 0.5]]]);
    const y = rmsNorm(x, tf.tensor1d([1, 1]), 0);
    expect(y.shape).toEqual([2, 2, 2]);
    expectClose(y.dataSync(), [1, 2, 3, 4, -1, 0, 0.5, 0.5].map((v, i, all) => {
      const pair = all.slice(i - (i % 2), i - (i % 2) + 2);
      return v / Math.sqrt((pair[0] ** 2 + pair[1] ** 2) / 2);
    }), 1e-6);
  });

  it('rejects a weight of the wrong shape, a negative eps and non-float inputs, naming them', () => {
    const x = tf.zeros([2, 3]);
    expect(() => rmsNorm(x, tf.ones([4]), 1e-5)).toThrow(/g must have shape \[3\]/);
    expect(() => rmsNorm(x, tf.ones([3]), -1)).toThrow(/eps must be ≥ 0/);
    expect(() => rmsNorm(tf.zeros([2, 3], 'int32'), tf.ones([3]), 1e-5)).toThrow(/float32/);
  });
});
