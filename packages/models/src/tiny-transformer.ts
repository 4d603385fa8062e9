import * as tf from '@tensorflow/tfjs-core';
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeSafetensors, encodeSafetensors, HostTensor, Rng } from '@alto/core';
import { layerNorm, linear } from '@alto/tfjs';
import { VOCAB_SIZE } from './tokenizer.js';

/** Shape of the built-in decoder-only transformer (pre-norm, learned positions, GELU MLP). */
export interface TransformerSpec {
  vocab: number;
  dModel: number;
  layers: number;
  heads: number;
  ffn: number;
  context: number;
}

export const TINY_SPEC: TransformerSpec = { vocab: VOCAB_SIZE, dModel: 64, layers: 2, heads: 4, ffn: 128, context: 24 };

/** The shipped pre-trained weights of `builtin:tiny` (made by `pnpm --filter @alto/models pretrain`). */
export const TINY_WEIGHTS_FILE = fileURLToPath(new URL('../weights/tiny.safetensors', import.meta.url));

/** The LoRA-targetable projections of each block, as PEFT users name them. */
export const PROJECTIONS = ['q', 'k', 'v', 'o', 'up', 'down'] as const;

export interface Transformer {
  spec: TransformerSpec;
  weights: Record<string, tf.Tensor>;
  /** Token ids [batch, T] → logits [batch, T, vocab]. Linear layers are named block{i}/{q,k,v,o,up,down} and head. */
  forward(x: tf.Tensor): tf.Tensor;
  dispose(): void;
}

/** Fresh weights, normal(0, 0.02) from a seed; LayerNorm gains 1, biases 0. */
export function initWeights(spec: TransformerSpec, seed: number): Record<string, HostTensor> {
  const rng = new Rng(seed);
  const normal = (n: number, sd: number) => {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i += 2) {
      const u = Math.max(rng.next(), 1e-12);
      const r = Math.sqrt(-2 * Math.log(u)) * sd;
      const a = 2 * Math.PI * rng.next();
      out[i] = r * Math.cos(a);
      if (i + 1 < n) out[i + 1] = r * Math.sin(a);
    }
    return out;
  };
  const { vocab: V, dModel: d, ffn: f, context: T } = spec;
  const w: Record<string, HostTensor> = {
    tok_emb: { shape: [V, d], data: normal(V * d, 0.02) },
    pos_emb: { shape: [T, d], data: normal(T * d, 0.02) },
    'ln_f/g': { shape: [d], data: new Float32Array(d).fill(1) },
    'ln_f/b': { shape: [d], data: new Float32Array(d) },
    head: { shape: [d, V], data: normal(d * V, 0.02) },
  };
  for (let l = 0; l < spec.layers; l++) {
    const p = `block${l}`;
    for (const ln of ['ln1', 'ln2']) {
      w[`${p}/${ln}/g`] = { shape: [d], data: new Float32Array(d).fill(1) };
      w[`${p}/${ln}/b`] = { shape: [d], data: new Float32Array(d) };
    }
    for (const n of ['q', 'k', 'v', 'o']) w[`${p}/${n}`] = { shape: [d, d], data: normal(d * d, 0.02) };
    w[`${p}/up`] = { shape: [d, f], data: normal(d * f, 0.02) };
    w[`${p}/up/b`] = { shape: [f], data: new Float32Array(f) };
    w[`${p}/down`] = { shape: [f, d], data: normal(f * d, 0.02 / Math.sqrt(2 * spec.layers)) };
    w[`${p}/down/b`] = { shape: [d], data: new Float32Array(d) };
  }
  return w;
}

const norm = (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor): tf.Tensor => layerNorm(x, g, b, 1e-5);

function gelu(x: tf.Tensor): tf.Tensor {
  // sigmoid approximation x·σ(1.702x): two kernels, where the tanh form takes five
  return tf.mul(x, tf.sigmoid(tf.mul(x, 1.702)));
}

export function createTransformer(spec: TransformerSpec, host: Record<string, HostTensor>): Transformer {
  const weights = Object.fromEntries(Object.entries(host).map(([k, v]) => [k, tf.tensor(v.data, v.shape)]));
  const W = (name: string) => {
    const t = weights[name];
    if (!t) throw new Error(`transformer weights lack "${name}"`);
    return t;
  };
  const { dModel: d, heads: H } = spec;
  const dh = d / H;
  const masks = new Map<number, tf.Tensor>();
  const causal = (T: number) => {
    let m = masks.get(T);
    if (!m) {
      const data = new Float32Array(T * T);
      for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) data[i * T + j] = -1e9;
      m = tf.keep(tf.tensor2d(data, [T, T]));
      masks.set(T, m);
    }
    return m;
  };
  const forward = (x: tf.Tensor) =>
    tf.tidy(() => {
      const [B, T] = x.shape;
      // one-hot × table rather than gather: the wasm backend has no gather gradient
      // (UnsortedSegmentSum), and with a small vocabulary the matmul costs little
      const tokens = tf.reshape(tf.matMul(tf.oneHot(tf.reshape(x, [B * T]), spec.vocab), W('tok_emb')), [B, T, d]);
      let h = tf.add(tokens, tf.slice(W('pos_emb'), [0, 0], [T, d]));
      for (let l = 0; l < spec.layers; l++) {
        // One tidy per layer: only what the gradients need outlives it.
        h = tf.tidy(() => {
          const p = `block${l}`;
          const a = norm(h, W(`${p}/ln1/g`), W(`${p}/ln1/b`));
          const heads = (name: string) => tf.transpose(tf.reshape(linear(`${p}/${name}`, a, W(`${p}/${name}`)), [B, T, H, dh]), [0, 2, 1, 3]);
          const scores = tf.add(tf.mul(tf.matMul(heads('q'), heads('k'), false, true), 1 / Math.sqrt(dh)), causal(T));
          const attended = tf.matMul(tf.softmax(scores), heads('v'));
          const merged = tf.reshape(tf.transpose(attended, [0, 2, 1, 3]), [B, T, d]);
          const mid = tf.add(h, linear(`${p}/o`, merged, W(`${p}/o`)));
          const m = norm(mid, W(`${p}/ln2/g`), W(`${p}/ln2/b`));
          return tf.add(mid, linear(`${p}/down`, gelu(linear(`${p}/up`, m, W(`${p}/up`), W(`${p}/up/b`))), W(`${p}/down`), W(`${p}/down/b`)));
        });
      }
      return linear('head', norm(h, W('ln_f/g'), W('ln_f/b')), W('head'));
    });
  return {
    spec,
    weights,
    forward,
    dispose: () => {
      tf.dispose(Object.values(weights));
      masks.forEach((m) => m.dispose());
    },
  };
}

export async function saveTransformer(path: string, spec: TransformerSpec, weights: Record<string, HostTensor>, meta: Record<string, string> = {}): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, encodeSafetensors(weights, { ...meta, alto_spec: JSON.stringify(spec) }));
}

export async function loadTransformer(path: string): Promise<Transformer> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(path));
  } catch (e) {
    throw new Error(`cannot read model weights ${path}: ${(e as Error).message}`);
  }
  const { tensors, metadata } = decodeSafetensors(bytes);
  if (!metadata.alto_spec) throw new Error(`${path} is not an ALTO transformer (its metadata has no alto_spec)`);
  return createTransformer(JSON.parse(metadata.alto_spec) as TransformerSpec, tensors);
}
