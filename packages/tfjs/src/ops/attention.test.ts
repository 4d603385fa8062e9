import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
// tfjs-core registers no gradient functions by itself.
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { expectClose } from '../test-support/close.js';
import { causalAttention } from './attention.js';

type Arr4 = number[][][][];
const shapeOf = (B: number, H: number, T: number, dh: number, seed: number): Arr4 =>
  Array.from({ length: B }, (_, b) => Array.from({ length: H }, (_, h) => Array.from({ length: T }, (_, i) => Array.from({ length: dh }, (_, c) => Math.sin(seed + 1.3 * b + 0.7 * h + 0.31 * i + 0.17 * c) * 1.5))));

/**
 * Float64 attention and the gradients of Σ out·w, by the formulas the fused CUDA kernels use:
 * p = exp(s − lse), delta_i = dO_i·o_i, ds = p·(dO_i·v_j − delta_i), dq = scale·Σ ds·k,
 * dk = scale·Σ ds·q, dv = Σ p·dO.
 */
function reference(q: Arr4, k: Arr4, v: Arr4, w: Arr4, scale: number) {
  const B = q.length, H = q[0].length, KV = k[0].length, T = q[0][0].length, dh = q[0][0][0].length, group = H / KV;
  const zeros = (heads: number): Arr4 => Array.from({ length: B }, () => Array.from({ length: heads }, () => Array.from({ length: T }, () => new Array<number>(dh).fill(0))));
  const out = zeros(H), dq = zeros(H), dk = zeros(KV), dv = zeros(KV);
  const dot = (a: number[], b: number[]) => a.reduce((s, x, c) => s + x * b[c], 0);
  for (let b = 0; b < B; ++b) for (let h = 0; h < H; ++h) {
    const kv = Math.floor(h / group);
    for (let i = 0; i < T; ++i) {
      const s = Array.from({ length: i + 1 }, (_, j) => scale * dot(q[b][h][i], k[b][kv][j]));
      const m = Math.max(...s), lse = m + Math.log(s.reduce((a, x) => a + Math.exp(x - m), 0));
      const p = s.map((x) => Math.exp(x - lse));
      p.forEach((pj, j) => v[b][kv][j].forEach((x, c) => { out[b][h][i][c] += pj * x; }));
      const dO = w[b][h][i], delta = dot(dO, out[b][h][i]);
      p.forEach((pj, j) => {
        const ds = pj * (dot(dO, v[b][kv][j]) - delta);
        for (let c = 0; c < dh; ++c) {
          dq[b][h][i][c] += scale * ds * k[b][kv][j][c];
          dk[b][kv][j][c] += scale * ds * q[b][h][i][c];
          dv[b][kv][j][c] += pj * dO[c];
        }
      });
    }
  }
  return { out, dq, dk, dv };
}


describe('causalAttention', () => {
  it('attends to earlier positions only, with grouped key/value heads, and gives the gradients of q, k and v (cpu, against float64)', async () => {
    await tf.setBackend('cpu');
    const q = shapeOf(2, 4, 5, 3, 0), k = shapeOf(2, 2, 5, 3, 10), v = shapeOf(2, 2, 5, 3, 20), w = shapeOf(2, 4, 5, 3, 30);
    const want = reference(q, k, v, w, 0.6);
    const [qt, kt, vt, wt] = [q, k, v, w].map((a) => tf.tensor4d(a));
    expectClose(causalAttention(qt, kt, vt, { scale: 0.6 }).dataSync(), want.out.flat(3), 1e-5);
    const grads = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(tf.mul(causalAttention(a as tf.Tensor4D, b as tf.Tensor4D, c as tf.Tensor4D, { scale: 0.6 }), wt)));
    const [dq, dk, dv] = grads([qt, kt, vt]);
    expectClose(dq.dataSync(), want.dq.flat(3), 1e-4);
    expectClose(dk.dataSync(), want.dk.flat(3), 1e-4);
    expectClose(dv.dataSync(), want.dv.flat(3), 1e-4);
  });

  it('rejects mismatched shapes and head counts, naming them', () => {
    const q = tf.zeros([1, 4, 6, 8]) as tf.Tensor4D;
    expect(() => causalAttention(q, tf.zeros([1, 3, 6, 8]) as tf.Tensor4D, tf.zeros([1, 3, 6, 8]) as tf.Tensor4D)).toThrow(/multiple of the key\/value heads \(3\)/);
    expect(() => causalAttention(q, tf.zeros([1, 2, 5, 8]) as tf.Tensor4D, tf.zeros([1, 2, 5, 8]) as tf.Tensor4D)).toThrow(/k and v must both have shape/);
    expect(() => causalAttention(q, tf.zeros([1, 2, 6, 8]) as tf.Tensor4D, tf.zeros([1, 2, 6, 8]) as tf.Tensor4D, { scale: Number.NaN })).toThrow(/scale must be finite/);
    expect(() => causalAttention(q, tf.zeros([1, 2, 6, 8]) as tf.Tensor4D, tf.zeros([1, 2, 6, 8]) as tf.Tensor4D, { precision: 'bf16' as 'tf32' })).toThrow(/precision must be 'fp32' or 'tf32'/);
  });
});
