/**
 * Op-by-op checks of the CUDA backend against tfjs's cpu backend on the same inputs: each case
 * builds its result on the backend under test, and the runner compares the values with the
 * cpu backend's (float32 within a tolerance relative to the larger of the element and the tensor's RMS, int32 and bool exactly). Used by
 * test/tfjs-cuda.test.ts (where a GPU is) and by device-check.ts (bundled for the GPU machine).
 */
import * as tf from '@tensorflow/tfjs-core';
// tfjs-core registers no gradient functions by itself (the union package and tfjs-layers do).
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { buildSegmentPlan, createOptimizer } from '@alto/core';
import { causalAttention, copyTensors, flattenTensors, groupedLora, layerNorm, linear, rmsNorm, rope, swiglu, tfParamOps, tokenCrossEntropy, withLoraScope } from '@alto/tfjs';
import { createLlama, initLlamaWeights, llamaSpec } from '@alto/models';

export interface Case {
  name: string;
  run: () => tf.Tensor | tf.Tensor[];
  tolerance?: number;
}

// Deterministic inputs, identical on both backends.
function values(n: number, seed: number, lo = -2, hi = 2): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; ++i) {
    s = (s * 1664525 + 1013904223) >>> 0;
    out[i] = lo + ((s >>> 8) / 16777216) * (hi - lo);
  }
  return out;
}
const t = (shape: number[], seed: number, lo?: number, hi?: number) => tf.tensor(values(shape.reduce((a, b) => a * b, 1), seed, lo, hi), shape);

export const cases: Case[] = [
  { name: 'add with broadcasting [2,3,4] + [3,1]', run: () => tf.add(t([2, 3, 4], 1), t([3, 1], 2)) },
  { name: 'sub, mul, div, scalar operands', run: () => [tf.sub(t([5, 7], 3), 1.5), tf.mul(2, t([5, 7], 4)), tf.div(t([4, 4], 5), t([4], 6, 0.5, 2))] },
  { name: 'maximum, minimum, pow, squared difference', run: () => [tf.maximum(t([6], 7), t([6], 8)), tf.minimum(t([2, 3], 9), t([3], 10)), tf.pow(t([8], 11, 0.1, 2), t([8], 12)), tf.squaredDifference(t([3, 3], 13), t([3, 3], 14))] },
  { name: 'int32 arithmetic, floorDiv and mod', run: () => {
    const a = tf.tensor1d([7, -7, 9, -9, 0, 5], 'int32'), b = tf.tensor1d([2, 2, -4, -4, 3, 5], 'int32');
    return [tf.add(a, b), tf.sub(a, b), tf.mul(a, b), tf.floorDiv(a, b), tf.mod(a, b), tf.maximum(a, b)];
  } },
  { name: 'float mod and floorDiv with negative operands', run: () => [tf.mod(t([10], 15, -5, 5), t([10], 16, 0.5, 3)), tf.floorDiv(t([10], 17, -5, 5), t([10], 18, -3, -0.5))] },
  { name: 'comparisons and logic give bool', run: () => {
    const a = t([4, 5], 19), b = t([5], 20);
    return [tf.equal(a, a), tf.less(a, b), tf.greaterEqual(a, b), tf.logicalAnd(tf.less(a, 0), tf.greater(b, 0)), tf.logicalNot(tf.less(a, b))];
  } },
  { name: 'unary ops', run: () => {
    const x = t([3, 11], 21), p = t([3, 11], 22, 0.05, 3);
    return [tf.neg(x), tf.abs(x), tf.exp(x), tf.log(p), tf.sqrt(p), tf.rsqrt(p), tf.square(x), tf.reciprocal(p), tf.relu(x), tf.sigmoid(x), tf.tanh(x),
      tf.sin(x), tf.cos(x), tf.floor(x), tf.ceil(x), tf.round(x), tf.sign(x), tf.log1p(p), tf.expm1(x), tf.erf(x), tf.softplus(x), tf.elu(x),
      tf.relu6(tf.mul(x, 4)), tf.step(x, 0.3), tf.leakyRelu(x, 0.1)];
  } },
  { name: 'sum, mean, max, min, prod over axes, keepDims', run: () => {
    const x = t([3, 4, 5], 23, 0.5, 1.5);
    return [tf.sum(x), tf.sum(x, 1), tf.sum(x, [0, 2], true), tf.mean(x, -1), tf.max(x, 0), tf.min(x, [1, 2]), tf.prod(x, 2)];
  } },
  { name: 'sum of bool and int32', run: () => [tf.sum(tf.less(t([6, 7], 24), 0), 1), tf.sum(tf.tensor2d([[1, 2, 3], [4, 5, 6]], undefined, 'int32'), 0)] },
  { name: 'argMax and argMin, ties to the first', run: () => [tf.argMax(t([4, 9], 25), 1), tf.argMin(t([4, 9], 26), 0), tf.argMax(tf.tensor1d([1, 3, 3, 2]))] },
  { name: 'a 1000-wide row reduction', run: () => [tf.sum(t([3, 1000], 27), 1), tf.max(t([1000, 3], 28), 0)], tolerance: 1e-5 },
  { name: 'transpose of rank 2, 3 and 4 (float, int, bool)', run: () => [tf.transpose(t([3, 5], 29)), tf.transpose(t([2, 3, 4], 30), [2, 0, 1]),
    tf.transpose(tf.cast(t([2, 3, 4, 5], 31, 0, 9), 'int32'), [3, 1, 2, 0]), tf.transpose(tf.less(t([4, 6], 32), 0))] },
  { name: 'reshape is a view; cast among float32, int32 and bool', run: () => {
    const x = t([2, 6], 33, -3, 3);
    return [tf.reshape(x, [3, 4]), tf.cast(x, 'int32'), tf.cast(x, 'bool'), tf.cast(tf.cast(x, 'int32'), 'float32')];
  } },
  { name: 'fill, zerosLike, onesLike, where', run: () => {
    const x = t([3, 4], 34);
    return [tf.fill([2, 3], 2.5), tf.fill([4], 7, 'int32'), tf.zerosLike(x), tf.onesLike(x), tf.where(tf.greater(x, 0), x, tf.neg(x))];
  } },
  { name: 'matMul, transposes and batch broadcasting', run: () => [
    tf.matMul(t([7, 5], 35), t([5, 3], 36)),
    tf.matMul(t([5, 7], 37), t([3, 5], 38), true, true),
    tf.matMul(t([4, 6, 5], 39), t([5, 2], 40)),
    tf.matMul(t([1, 6, 5], 41), t([3, 5, 4], 42)),
    tf.matMul(t([3, 0], 43), t([0, 2], 44)),
  ], tolerance: 1e-5 },
  { name: 'slice, concat, stack, unstack, tile, pad', run: () => {
    const x = t([4, 5, 6], 51);
    return [tf.slice(x, [1, 0, 2], [2, -1, 3]), tf.concat([x, t([4, 2, 6], 52)], 1), tf.concat([t([3], 53), t([0], 54), t([2], 55)]),
      tf.stack([t([2, 3], 56), t([2, 3], 57)], 1), tf.tile(t([2, 3], 58), [2, 3]), tf.pad(t([2, 3], 59), [[1, 0], [2, 1]], 0.5),
      tf.concat([tf.tensor1d([1, 2], 'int32'), tf.tensor1d([3], 'int32')]),
      ...tf.unstack(x, 1), ...tf.unstack(tf.tensor2d([[1, 2], [3, 4]], undefined, 'int32')),
      // the gradient of stack is an unstack
      ...tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.stack([a, b]), t([2, 3], 50))))([t([3], 48), t([3], 49)])];
  } },
  { name: 'uploads of 2.4 MB and 40 MB (through the pinned staging buffers) arrive whole', run: () => {
    const big = t([10_000_000], 71);
    // Slices at the start, across the first buffer's end (4,194,304 floats) and at the end.
    return [tf.add(t([600_000], 70), 1), tf.slice(big, [0], [1000]), tf.slice(big, [4_194_000], [600]), tf.slice(big, [9_999_000], [1000])];
  }, tolerance: 0 },
  { name: 'large tensors live beside freed ones keep their values when the cache is given back (the chunks of free holes unmapped), and a larger one then fits', run: () => {
    // 68 MB each: a freed one holds at least one whole 32 MiB chunk wherever it starts.
    const n = 17_000_000, parts = [0, 1, 2, 3, 4, 5].map((i) => t([n], 80 + i));
    for (let i = 0; i < parts.length; i += 2) parts[i].dispose();
    (tf.backend() as unknown as { releaseCachedMemory?: () => void }).releaseCachedMemory?.();
    const big = t([2 * n], 86);
    const kept = [parts[1], parts[3], parts[5]];
    return [...kept.map((x) => tf.slice(x, [0], [5000])), ...kept.map((x) => tf.slice(x, [n - 5000], [5000])), tf.slice(tf.add(tf.slice(big, [n], [n]), parts[3]), [n - 5000], [5000])];
  }, tolerance: 0 },
  { name: 'gather, oneHot, softmax', run: () => {
    const table = t([10, 4], 60), ids = tf.tensor2d([[1, 3, 3], [9, 0, 2]], undefined, 'int32');
    return [tf.gather(table, ids), tf.gather(t([3, 5, 2], 61), tf.tensor1d([4, 0], 'int32'), 1), tf.oneHot(tf.tensor1d([0, 3, 2], 'int32'), 4),
      tf.softmax(t([3, 7], 62, -4, 4)), tf.logSoftmax(t([2, 300], 63, -4, 4))];
  }, tolerance: 1e-5 },
  { name: 'gradient of an embedding lookup and softmax cross-entropy', run: () => {
    const table = t([12, 6], 64), w = t([6, 12], 65), ids = tf.tensor1d([1, 5, 5, 11, 0], 'int32'), labels = tf.oneHot(tf.tensor1d([2, 7, 7, 0, 11], 'int32'), 12);
    const loss = (e: tf.Tensor, wv: tf.Tensor) => tf.mean(tf.neg(tf.sum(tf.mul(labels, tf.logSoftmax(tf.matMul(tf.gather(e, ids), wv))), -1)));
    return tf.grads(loss)([table, w]);
  }, tolerance: 1e-5 },
  { name: 'int32 neg, abs, square, sign; expandDims, range, split, prelu, elu gradient', run: () => {
    const i = tf.tensor1d([-3, 0, 5, -1], 'int32'), x = t([3, 4], 66);
    return [tf.neg(i), tf.abs(i), tf.square(i), tf.sign(i), tf.expandDims(x, 1), tf.range(0, 10, 3), tf.range(5, 1, -1.5, 'float32'),
      ...tf.split(t([4, 6], 67), [2, 3, 1], 1), tf.prelu(x, t([4], 68, 0, 0.5)), tf.grad((v: tf.Tensor) => tf.sum(tf.elu(v)))(x)];
  } },
  { name: 'cumsum and cumprod (exclusive, reverse); NaN in argMax, sign, max; gather with batchDims; rank-5 tile; int32 through float ops', run: () => {
    const x = t([3, 4], 90, 0.5, 1.5), i = tf.tensor1d([-2, 0, 3], 'int32'), withNan = tf.tensor1d([1, NaN, 5, 5, -1]);
    return [tf.cumsum(x, 1), tf.cumsum(x, 0, true, true), tf.cumprod(x, 1), tf.cumprod(x, 0, false, true), tf.argMax(withNan), tf.argMin(withNan),
      tf.sign(withNan), tf.max(withNan), tf.gather(t([2, 5, 3], 91), tf.tensor2d([[4, 0], [1, 1]], undefined, 'int32'), 1, 1),
      tf.tile(t([1, 2, 1, 2, 1], 92), [2, 1, 3, 1, 2]), tf.exp(i), tf.relu(i), tf.round(i), tf.prelu(i, tf.tensor1d([2], 'int32'))];
  } },
  { name: 'matMul on int32 and with broadcast batch dims', run: () => [
    tf.matMul(tf.tensor2d([[1, 2], [3, 4]], undefined, 'int32'), tf.tensor2d([[5], [6]], undefined, 'int32')),
    tf.matMul(t([2, 2, 3, 4], 69), t([2, 4, 5], 70)),
  ], tolerance: 1e-5 },
  { name: "ALTO's grouped LoRA (forward and every gradient): mixed ranks, an adapter with two segments, an empty segment", run: () => {
    const a = { name: 'a', rank: 4, scale: 2 }, b = { name: 'b', rank: 16, scale: 0.5 }, c = { name: 'c', rank: 1, scale: 1 };
    const plan = buildSegmentPlan([{ adapter: a, rows: 5 }, { adapter: b, rows: 0 }, { adapter: b, rows: 70 }, { adapter: c, rows: 3 }, { adapter: a, rows: 2 }]);
    const T = plan.totalRows, dIn = 24, dOut = 40;
    const x = t([T, dIn], 71), base = t([T, dOut], 72);
    const A = plan.adapters.map((ad, i) => t([dIn, ad.rank], 73 + i) as tf.Tensor2D), B = plan.adapters.map((ad, i) => t([ad.rank, dOut], 80 + i) as tf.Tensor2D);
    const f = (xv: tf.Tensor, ...w: tf.Tensor[]) => tf.sum(tf.square(groupedLora(xv as tf.Tensor2D, base as tf.Tensor2D, w.slice(0, 3) as tf.Tensor2D[], w.slice(3) as tf.Tensor2D[], plan)));
    return [groupedLora(x as tf.Tensor2D, base as tf.Tensor2D, A, B, plan), ...tf.grads(f)([x, ...A, ...B])];
  }, tolerance: 1e-4 },
  { name: "linear() under a LoRA scope (on the CUDA backend x·W added into the LoRA's output by the matmul, dy·Wᵀ into its dX): forward and the gradients of x, A and B, a sequence of no adapter", run: () => {
    const a = { name: 'a', rank: 8, scale: 2 }, b = { name: 'b', rank: 3, scale: 0.5 };
    // 3 sequences of 20 tokens (the plan's rows expand to 60): a, none, b
    const plan = { totalRows: 3, segmentOffsets: Int32Array.from([0, 1, 2, 3]), segmentAdapter: Int32Array.from([0, -1, 1]), adapters: [a, b], maxRank: 8 };
    const x = t([3, 20, 48], 230), W = t([48, 40], 231), w = t([3, 20, 40], 232);
    const A = [t([48, 8], 233), t([48, 3], 234)] as tf.Tensor2D[], B = [t([8, 40], 235), t([3, 40], 236)] as tf.Tensor2D[];
    const f = (xv: tf.Tensor, ...ab: tf.Tensor[]) =>
      withLoraScope({ layer: () => ({ plan, A: ab.slice(0, 2) as tf.Tensor2D[], B: ab.slice(2) as tf.Tensor2D[] }) }, () => tf.sum(tf.mul(linear('p', xv, W), w)));
    const y = withLoraScope({ layer: () => ({ plan, A, B }) }, () => linear('p', x, W));
    return [y, ...tf.grads(f)([x, ...A, ...B])];
  }, tolerance: 1e-4 },
  { name: 'copies of many tensors (one launch on the CUDA backend): odd and 16-byte sizes, an empty one, −0 kept, data of their own', run: () => {
    const xs = [t([3, 5], 240), t([1], 241), t([0, 4], 242), t([64, 33], 243), tf.tensor1d([-0, 1, -2, 3])];
    const copies = copyTensors(xs);
    if (copies.some((c, i) => c.dataId === xs[i].dataId)) throw new Error('a copy shares its source\'s data');
    if (!Object.is(copies[4].dataSync()[0], -0)) throw new Error('−0 not kept');
    return copies;
  }, tolerance: 0 },
  { name: 'many tensors flattened end to end (one launch on the CUDA backend): odd and 16-byte sizes, an empty one, −0 kept', run: () => {
    const xs = [t([3, 5], 250), t([1], 251), t([0, 4], 252), t([64, 33], 253), tf.tensor1d([-0, 1, -2, 3]), t([2, 2, 2], 254)];
    const flat = flattenTensors(xs);
    if (tf.getBackend() === 'alto-cuda' && !tf.getKernel('AltoFlattenMany', 'alto-cuda')) throw new Error('the one-launch flatten is not registered');
    if (flat.shape.length !== 1 || flat.shape[0] !== 15 + 1 + 0 + 64 * 33 + 4 + 8) throw new Error(`flattened to [${flat.shape}]`);
    if (!Object.is(flat.dataSync()[15 + 1 + 64 * 33], -0)) throw new Error('−0 not kept');
    return flat;
  }, tolerance: 0 },
  { name: 'RMSNorm (fused on the CUDA backend): forward and the gradients of x and g, rank 2 and 3', run: () => {
    const out: tf.Tensor[] = [];
    for (const [shape, seed] of [[[6, 40], 90], [[3, 100, 64], 93]] as const) {
      const cols = shape[shape.length - 1];
      const x = t([...shape], seed), g = t([cols], seed + 1), w = t([...shape], seed + 2);
      out.push(rmsNorm(x, g, 1e-5), ...tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(rmsNorm(a, b, 1e-5), w)))([x, g]));
    }
    if (tf.getBackend() === 'alto-cuda' && !tf.getKernel('AltoRmsNorm', 'alto-cuda')) throw new Error('the fused RMSNorm kernel is not registered');
    return out;
  }, tolerance: 1e-5 },
  { name: 'token cross-entropy (fused on the CUDA backend): loss and the gradient of the logits; odd and float4-wide vocabularies, targets out of range', run: () => {
    const out: tf.Tensor[] = [];
    // 1001: the scalar path; 512: rows read as float4. Targets −1 and V have no target term.
    for (const [shape, seed] of [[[3, 5, 1001], 210], [[2, 4, 512], 220]] as const) {
      const V = shape[2];
      const z = t([...shape], seed, -8, 8), w = t([shape[0], shape[1]], seed + 1);
      const ids = Array.from({ length: shape[0] * shape[1] }, (_, i) => (i === 1 ? -1 : i === 2 ? V : (i * 7919) % V));
      const targets = tf.tensor2d(ids, [shape[0], shape[1]], 'int32');
      out.push(tokenCrossEntropy(z, targets), tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tokenCrossEntropy(a, targets), w)))(z));
    }
    if (tf.getBackend() === 'alto-cuda' && !tf.getKernel('AltoTokenCrossEntropy', 'alto-cuda')) throw new Error('the fused cross-entropy kernel is not registered');
    return out;
  }, tolerance: 1e-5 },
  { name: 'LayerNorm (fused on the CUDA backend): forward and the gradients of x, g and b', run: () => {
    const x = t([3, 100, 64], 130), g = t([64], 131), b = t([64], 132), w = t([3, 100, 64], 133);
    const out = [layerNorm(x, g, b, 1e-5), ...tf.grads((p: tf.Tensor, q: tf.Tensor, s: tf.Tensor) => tf.sum(tf.mul(layerNorm(p, q, s, 1e-5), w)))([x, g, b])];
    if (tf.getBackend() === 'alto-cuda' && !tf.getKernel('AltoLayerNorm', 'alto-cuda')) throw new Error('the fused LayerNorm kernel is not registered');
    return out;
  }, tolerance: 1e-4 },
  { name: 'SwiGLU and rotary positions (fused on the CUDA backend): forward and gradients', run: () => {
    const g = t([3, 7, 40], 160, -6, 6), u = t([3, 7, 40], 161), w = t([3, 7, 40], 162);
    const x = t([2, 3, 9, 16], 163), cos = t([9, 16], 164, -1, 1), sin = t([9, 16], 165, -1, 1), wx = t([2, 3, 9, 16], 166);
    const out = [swiglu(g, u), ...tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(swiglu(a, b), w)))([g, u]),
      rope(x, cos, sin), tf.grad((a: tf.Tensor) => tf.sum(tf.mul(rope(a, cos, sin), wx)))(x)];
    if (tf.getBackend() === 'alto-cuda' && !(tf.getKernel('AltoSwiglu', 'alto-cuda') && tf.getKernel('AltoRope', 'alto-cuda'))) throw new Error('the fused SwiGLU and rope kernels are not registered');
    return out;
  }, tolerance: 1e-5 },
  { name: 'causal attention (fused on the CUDA backend): grouped heads, forward and the gradients of q, k and v', run: () => {
    const out: tf.Tensor[] = [];
    // [B, H, KV, T, dh]: 70 rows cross the 32-key steps; head dims below, at and above a warp;
    // multiples of 16 up to 128 take the 64 × 64 tiled kernels (150 and 129 rows: tail tiles).
    for (const [B, H, KV, T, dh, seed] of [[2, 4, 2, 70, 24, 100], [1, 2, 1, 40, 64, 110], [1, 3, 3, 33, 80, 120], [2, 4, 2, 150, 64, 130], [1, 2, 1, 129, 128, 140], [1, 1, 1, 64, 16, 150]]) {
      const q = t([B, H, T, dh], seed) as tf.Tensor4D, k = t([B, KV, T, dh], seed + 1) as tf.Tensor4D, v = t([B, KV, T, dh], seed + 2) as tf.Tensor4D;
      const w = t([B, H, T, dh], seed + 3);
      out.push(causalAttention(q, k, v), ...tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(tf.mul(causalAttention(a as tf.Tensor4D, b as tf.Tensor4D, c as tf.Tensor4D), w)))([q, k, v]));
    }
    if (tf.getBackend() === 'alto-cuda' && !tf.getKernel('AltoCausalAttention', 'alto-cuda')) throw new Error('the fused attention kernel is not registered');
    return out;
  }, tolerance: 1e-4 },
  { name: 'causal attention with TF32 products (fused on the CUDA backend): forward and the gradients of q, k and v', run: () => {
    const out: tf.Tensor[] = [];
    for (const [B, H, KV, T, dh, seed] of [[2, 4, 2, 150, 64, 170], [1, 2, 1, 129, 128, 180], [1, 3, 3, 70, 16, 190], [1, 2, 2, 64, 48, 200]]) {
      const q = t([B, H, T, dh], seed, -1, 1) as tf.Tensor4D, k = t([B, KV, T, dh], seed + 1, -1, 1) as tf.Tensor4D, v = t([B, KV, T, dh], seed + 2) as tf.Tensor4D;
      const w = t([B, H, T, dh], seed + 3);
      const f = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => causalAttention(a as tf.Tensor4D, b as tf.Tensor4D, c as tf.Tensor4D, { precision: 'tf32' });
      out.push(f(q, k, v), ...tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(tf.mul(f(a, b, c), w)))([q, k, v]));
    }
    return out;
  }, tolerance: 1e-2 },
  { name: 'a Llama-shaped model: logits and the cross-entropy gradient of every weight', run: () => {
    const spec = llamaSpec({ vocab: 29, dModel: 32, layers: 2, heads: 4, kvHeads: 2, ffn: 48, context: 16 });
    const model = createLlama(spec, initLlamaWeights(spec, 9));
    const tokens = tf.tensor2d([[1, 5, 7, 2, 9, 12, 28, 0], [3, 3, 4, 8, 1, 6, 2, 2]], [2, 8], 'int32');
    const labels = tf.oneHot(tf.tensor1d([5, 7, 2, 9, 12, 28, 0, 4, 3, 4, 8, 1, 6, 2, 2, 7], 'int32'), spec.vocab);
    const weights = Object.values(model.weights);
    const loss = () => tf.losses.softmaxCrossEntropy(labels, tf.reshape(model.forward(tokens), [16, spec.vocab])) as tf.Scalar;
    const { value, grads } = tf.engine().gradients(loss, weights);
    const out = [model.forward(tokens), value, ...grads];
    model.dispose();
    return out;
  }, tolerance: 1e-4 },
  { name: 'gradients of a small dense model through matMul, add, tanh, mean', run: () => {
    const x = t([8, 6], 45), w = t([6, 4], 46), b = t([4], 47);
    const grads = tf.grads((wv: tf.Tensor, bv: tf.Tensor) => tf.mean(tf.square(tf.tanh(tf.add(tf.matMul(x, wv), bv)))));
    return grads([w, b]);
  }, tolerance: 1e-5 },
  { name: 'five Adam steps on a linear model', run: () => {
    const x = t([16, 5], 48), y = t([16, 1], 49);
    const w = tf.variable(t([5, 1], 50)), opt = tf.train.adam(0.05);
    for (let i = 0; i < 5; ++i) opt.minimize(() => tf.mean(tf.squaredDifference(tf.matMul(x, w), y)) as tf.Scalar);
    const out = tf.clone(w);
    w.dispose();
    opt.dispose();
    return out;
  }, tolerance: 1e-4 },
  { name: "three AdamW steps of ALTO's optimizer (one in-place launch per step on CUDA), weights read between steps", run: () => {
    // Variables that own their data, as the trainer's (a variable shares the data of the
    // tensor it is made from; while that tensor lives the step is left to the composite ops).
    const owned = (x: tf.Tensor) => {
      const v = tf.variable(x);
      x.dispose();
      return v;
    };
    const params = [owned(t([64, 8], 51)), owned(t([8, 96], 52)), owned(t([3], 53))];
    const opt = createOptimizer<tf.Tensor>({ type: 'adamw', beta1: 0.8 });
    const state = opt.init(params, tfParamOps);
    let fused = 0;
    const ops = { ...tfParamOps, adamwInPlace: (...a: Parameters<NonNullable<typeof tfParamOps.adamwInPlace>>) => (tfParamOps.adamwInPlace!(...a) ? (fused++, true) : false) };
    const outs: tf.Tensor[] = [];
    for (let step = 0; step < 3; ++step) {
      params.forEach((p) => p.dataSync()); // a read keeps a host copy that the in-place step must drop
      const grads = params.map((p, i) => t(p.shape, 60 + 10 * step + i));
      opt.update(params, grads, state, { learningRate: 0.01 * (step + 1), weightDecay: 0.1 }, ops);
      tf.dispose(grads);
      outs.push(...params.map((p) => tf.tensor(p.dataSync(), p.shape)));
    }
    if (tf.getBackend() === 'alto-cuda' && fused !== 3) throw new Error(`the in-place AdamW ran ${fused} of 3 steps`);
    outs.push(...state.slots.flat().map((s) => tf.clone(s)));
    opt.dispose(state, tfParamOps);
    tf.dispose(params);
    return outs;
  }, tolerance: 1e-6 },
];

export interface Outcome {
  name: string;
  ok: boolean;
  detail: string;
}

function compare(got: tf.Tensor, want: tf.Tensor, tolerance: number): string | null {
  if (got.dtype !== want.dtype) return `dtype ${got.dtype}, expected ${want.dtype}`;
  if (!tf.util.arraysEqual(got.shape, want.shape)) return `shape [${got.shape}], expected [${want.shape}]`;
  const g = got.dataSync(), w = want.dataSync();
  // Sums of many products cancel: an element's error follows the tensor's scale, not its own size.
  let squares = 0, finite = 0;
  for (let i = 0; i < w.length; ++i) {
    const v = Number(w[i]);
    if (Number.isFinite(v)) { squares += v * v; ++finite; }
  }
  const scale = Math.max(1, Math.sqrt(squares / Math.max(1, finite)));
  for (let i = 0; i < w.length; ++i) {
    const a = Number(g[i]), b = Number(w[i]);
    if (Number.isNaN(a) && Number.isNaN(b)) continue;
    const bad = got.dtype === 'float32' ? !(Math.abs(a - b) <= tolerance * Math.max(scale, Math.abs(b))) : a !== b;
    if (bad) return `element ${i}: ${a}, expected ${b}`;
  }
  return null;
}

/** Runs every case on `backend` and on cpu; results leak no tensors on either. */
export async function runCases(backend: string, selected: Case[] = cases): Promise<Outcome[]> {
  const out: Outcome[] = [];
  for (const c of selected) {
    try {
      await tf.setBackend('cpu');
      const want = tf.tidy(() => [c.run()].flat());
      await tf.setBackend(backend);
      const before = tf.memory().numTensors;
      const got = tf.tidy(() => [c.run()].flat());
      const problems: string[] = [];
      if (got.length !== want.length) problems.push(`${got.length} results, expected ${want.length}`);
      for (let i = 0; i < Math.min(got.length, want.length); ++i) {
        const p = compare(got[i], want[i], c.tolerance ?? 1e-6);
        if (p) problems.push(`result ${i}: ${p}`);
      }
      tf.dispose(got);
      if (tf.memory().numTensors !== before) problems.push(`${tf.memory().numTensors - before} tensors leaked`);
      tf.dispose(want);
      out.push({ name: c.name, ok: problems.length === 0, detail: problems.join('; ') });
    } catch (e) {
      out.push({ name: c.name, ok: false, detail: (e as Error).message.split('\n')[0] });
    }
  }
  return out;
}
