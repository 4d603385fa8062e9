import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
// tfjs-core registers no gradient functions by itself.
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { expectClose } from '../test-support/close.js';
import { layerNorm } from './layer-norm.js';

// A float64 LayerNorm and the gradients of Σ y·w, by the formulas of the fused CUDA kernels:
// x̂ = (x − mean)·inv, e = w·g, dx = inv·(e − mean(e) − x̂·mean(e·x̂)), dg = Σ w·x̂, db = Σ w.
function reference(x: number[][], g: number[], b: number[], w: number[][], eps: number) {
  const cols = g.length;
  const y: number[][] = [], dx: number[][] = [], dg = new Array<number>(cols).fill(0), db = new Array<number>(cols).fill(0);
  for (let r = 0; r < x.length; ++r) {
    const mean = x[r].reduce((s, v) => s + v, 0) / cols;
    const inv = 1 / Math.sqrt(x[r].reduce((s, v) => s + (v - mean) ** 2, 0) / cols + eps);
    const xh = x[r].map((v) => (v - mean) * inv);
    y.push(xh.map((v, c) => v * g[c] + b[c]));
    const e = w[r].map((v, c) => v * g[c]);
    const me = e.reduce((s, v) => s + v, 0) / cols, mex = e.reduce((s, v, c) => s + v * xh[c], 0) / cols;
    dx.push(e.map((v, c) => inv * (v - me - xh[c] * mex)));
    w[r].forEach((v, c) => { dg[c] += v * xh[c]; db[c] += v; });
  }
  return { y, dx, dg, db };
}

describe('layerNorm', () => {
  it('normalises the last axis and gives the gradients of x, g and b (cpu, against float64)', async () => {
    await tf.setBackend('cpu');
    const x = [[0.5, -1.5, 2, 0.25, -0.75], [3, 1, -2, 0.5, 0], [-0.1, 0.2, 0.3, -0.4, 0.05]];
    const g = [1.5, -0.5, 1, 2, 0.25], b = [0.1, 0.2, -0.3, 0, 1];
    const w = [[1, -2, 0.5, 1, 3], [-1, 0.5, 2, -0.5, 1], [2, 1, -1, 0.25, -3]];
    const want = reference(x, g, b, w, 1e-5);
    const [xt, gt, bt, wt] = [tf.tensor2d(x), tf.tensor1d(g), tf.tensor1d(b), tf.tensor2d(w)];
    expectClose(layerNorm(xt, gt, bt, 1e-5).dataSync(), want.y.flat(), 1e-5);
    const [dx, dg, db] = tf.grads((p: tf.Tensor, q: tf.Tensor, s: tf.Tensor) => tf.sum(tf.mul(layerNorm(p, q, s, 1e-5), wt)))([xt, gt, bt]);
    expectClose(dx.dataSync(), want.dx.flat(), 1e-4);
    expectClose(dg.dataSync(), want.dg, 1e-5);
    expectClose(db.dataSync(), want.db, 1e-6);
  });

  it('rejects weights of the wrong shape, a negative eps and non-float inputs, naming them', () => {
    const x = tf.zeros([2, 3]);
    expect(() => layerNorm(x, tf.ones([3]), tf.ones([2]), 1e-5)).toThrow(/b must have shape \[3\]/);
    expect(() => layerNorm(x, tf.ones([3]), tf.ones([3]), -1)).toThrow(/eps must be ≥ 0/);
    expect(() => layerNorm(tf.zeros([2, 3], 'int32'), tf.ones([3]), tf.ones([3]), 1e-5)).toThrow(/float32/);
  });
});
