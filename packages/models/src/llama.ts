import * as tf from '@tensorflow/tfjs-core';
import { readFile } from 'node:fs/promises';
import { ConfigError, decodeSafetensors, HostTensor, IssueCollector, Rng } from '@alto/core';
import { loadNativeKernels } from '@alto/kernels';
import { causalAttention, linear, rmsNorm, rope, swiglu } from '@alto/tfjs';
import type { Transformer, TransformerSpec } from './tiny-transformer.js';
import { VOCAB_SIZE } from './tokenizer.js';

/**
 * A Llama-shaped decoder: RMSNorm, rotary positions (rotate-half, as Hugging Face's Llama),
 * SwiGLU MLP, grouped-query attention, no biases. Weights use Hugging Face's names and layout
 * (`model.layers.{i}.self_attn.q_proj.weight` is [out, in]), so a Llama checkpoint in
 * safetensors loads as is; its linear layers carry the same names (without `.weight`), so
 * LoRA targets such as `*q_proj` or `*_proj` and saved adapters match PEFT's.
 */
export interface LlamaSpec extends TransformerSpec {
  kvHeads: number;
  ropeTheta: number;
  normEps: number;
  tieEmbeddings: boolean;
}

export const LLAMA_PROJECTIONS = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] as const;

/** The spec of `{ builtin: 'llama', … }`, with defaults and every field checked. */
export function llamaSpec(input: Record<string, unknown>, at = 'model'): LlamaSpec {
  const issues = new IssueCollector();
  const int = (key: string, fallback?: number) => {
    const v = input[key] ?? fallback;
    if (!Number.isInteger(v) || (v as number) < 1) issues.add(`${at}.${key}`, `must be an integer ≥ 1, got ${JSON.stringify(v)}`);
    return v as number;
  };
  const spec: LlamaSpec = {
    vocab: int('vocab', VOCAB_SIZE),
    dModel: int('dModel', 64),
    layers: int('layers', 2),
    heads: int('heads', 4),
    kvHeads: int('kvHeads', (input.heads as number | undefined) ?? 4),
    ffn: int('ffn', 172),
    context: int('context', 24),
    ropeTheta: (input.ropeTheta as number | undefined) ?? 10000,
    normEps: (input.normEps as number | undefined) ?? 1e-5,
    tieEmbeddings: (input.tieEmbeddings as boolean | undefined) ?? false,
  };
  if (issues.issues.length === 0) {
    if (spec.dModel % spec.heads !== 0) issues.add(`${at}.heads`, `must divide dModel (${spec.dModel})`);
    else if ((spec.dModel / spec.heads) % 2 !== 0) issues.add(`${at}.heads`, 'dModel / heads must be even (rotary positions rotate pairs)');
    if (spec.heads % spec.kvHeads !== 0) issues.add(`${at}.kvHeads`, `must divide heads (${spec.heads})`);
  }
  if (!(spec.ropeTheta > 0)) issues.add(`${at}.ropeTheta`, 'must be > 0');
  if (!(spec.normEps > 0)) issues.add(`${at}.normEps`, 'must be > 0');
  issues.throwIfAny('model');
  return spec;
}

/** Hugging Face weight names and [out, in] shapes of a spec. */
export function llamaWeightShapes(spec: LlamaSpec): Record<string, number[]> {
  const { dModel: d, ffn, vocab } = spec;
  const kv = spec.kvHeads * (d / spec.heads);
  const shapes: Record<string, number[]> = { 'model.embed_tokens.weight': [vocab, d], 'model.norm.weight': [d] };
  for (let l = 0; l < spec.layers; l++) {
    const p = `model.layers.${l}`;
    Object.assign(shapes, {
      [`${p}.input_layernorm.weight`]: [d],
      [`${p}.self_attn.q_proj.weight`]: [d, d],
      [`${p}.self_attn.k_proj.weight`]: [kv, d],
      [`${p}.self_attn.v_proj.weight`]: [kv, d],
      [`${p}.self_attn.o_proj.weight`]: [d, d],
      [`${p}.post_attention_layernorm.weight`]: [d],
      [`${p}.mlp.gate_proj.weight`]: [ffn, d],
      [`${p}.mlp.up_proj.weight`]: [ffn, d],
      [`${p}.mlp.down_proj.weight`]: [d, ffn],
    });
  }
  if (!spec.tieEmbeddings) shapes['lm_head.weight'] = [vocab, d];
  return shapes;
}

/**
 * Random weights, near-normal(0, 0.02) from a seed; norm gains 1. The same values with or
 * without the native kernels (`native: false` keeps to JavaScript).
 */
export function initLlamaWeights(spec: LlamaSpec, seed: number, options: { native?: boolean } = {}): Record<string, HostTensor> {
  const rng = new Rng(seed);
  const load = options.native === false ? null : loadNativeKernels();
  const fast = load?.ok && typeof load.kernels.cpuFillNearNormal === 'function' ? load.kernels.cpuFillNearNormal.bind(load.kernels) : undefined;
  const out: Record<string, HostTensor> = {};
  for (const [name, shape] of Object.entries(llamaWeightShapes(spec))) {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    // sd 0.02; a billion of them: on the native kernels' threads where the addon loads.
    if (name.endsWith('norm.weight')) data.fill(1);
    else rng.fillNearNormal(data, 0.02, fast);
    out[name] = { shape, data };
  }
  return out;
}

/** Reads Hugging Face-layout Llama weights from safetensors; every tensor the spec needs must be there with its shape. */
export async function readLlamaWeights(path: string, spec: LlamaSpec): Promise<Record<string, HostTensor>> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(path));
  } catch (e) {
    throw new ConfigError([{ field: 'model.weights', reason: `cannot read ${path}: ${(e as Error).message}` }]);
  }
  const { tensors } = decodeSafetensors(bytes);
  const issues = new IssueCollector();
  for (const [name, shape] of Object.entries(llamaWeightShapes(spec))) {
    const t = tensors[name];
    if (!t) issues.add('model.weights', `${path} has no tensor ${name}`);
    else if (t.shape.join('x') !== shape.join('x')) issues.add('model.weights', `${name} is [${t.shape}], the spec needs [${shape}]`);
  }
  issues.throwIfAny('model');
  return tensors;
}

export function createLlama(spec: LlamaSpec, host: Record<string, HostTensor>): Transformer {
  // Linear weights as [in, out] kernels (x·W), the rest as stored.
  const weights: Record<string, tf.Tensor> = {};
  for (const [name, t] of Object.entries(host)) {
    const stored = tf.tensor(t.data, t.shape);
    weights[name] = name.endsWith('proj.weight') || name === 'lm_head.weight' ? tf.keep(tf.transpose(stored)) : stored;
    if (weights[name] !== stored) stored.dispose();
  }
  if (spec.tieEmbeddings) weights['lm_head.weight'] = tf.keep(tf.transpose(weights['model.embed_tokens.weight']));
  const W = (name: string) => {
    const t = weights[name];
    if (!t) throw new Error(`llama weights lack "${name}"`);
    return t;
  };
  const { dModel: d, heads: H, kvHeads: KV } = spec;
  const dh = d / H;
  const cache = new Map<number, { cos: tf.Tensor; sin: tf.Tensor }>();
  const positions = (T: number) => {
    let c = cache.get(T);
    if (!c) {
      const cos = new Float32Array(T * dh);
      const sin = new Float32Array(T * dh);
      for (let t = 0; t < T; t++) {
        for (let i = 0; i < dh / 2; i++) {
          const angle = t / Math.pow(spec.ropeTheta, (2 * i) / dh);
          cos[t * dh + i] = cos[t * dh + i + dh / 2] = Math.cos(angle);
          sin[t * dh + i] = sin[t * dh + i + dh / 2] = Math.sin(angle);
        }
      }
      c = { cos: tf.keep(tf.tensor2d(cos, [T, dh])), sin: tf.keep(tf.tensor2d(sin, [T, dh])) };
      cache.set(T, c);
    }
    return c;
  };
  const norm = (x: tf.Tensor, g: tf.Tensor) => rmsNorm(x, g, spec.normEps);
  const forward = (x: tf.Tensor) =>
    tf.tidy(() => {
      const [B, T] = x.shape;
      const { cos, sin } = positions(T);
      let h = tf.reshape(tf.gather(W('model.embed_tokens.weight'), tf.reshape(x, [B * T])), [B, T, d]);
      for (let l = 0; l < spec.layers; l++) {
        // One tidy per layer: its intermediates go as soon as it ends, except what the
        // gradients need (kept by the tape), so the forward does not hold every tensor it made.
        h = tf.tidy(() => {
          const p = `model.layers.${l}`;
          const proj = (module: string, input: tf.Tensor) => linear(`${p}.${module}`, input, W(`${p}.${module}.weight`));
          const a = norm(h, W(`${p}.input_layernorm.weight`));
          const split = (t: tf.Tensor, heads: number) => tf.transpose(tf.reshape(t, [B, T, heads, dh]), [0, 2, 1, 3]);
          const q = rope(split(proj('self_attn.q_proj', a), H), cos, sin);
          const k = rope(split(proj('self_attn.k_proj', a), KV), cos, sin);
          const v = split(proj('self_attn.v_proj', a), KV);
          // Grouped-query attention without copying keys and values; one fused kernel on CUDA.
          const heads = causalAttention(q as tf.Tensor4D, k as tf.Tensor4D, v as tf.Tensor4D);
          const attended = tf.reshape(tf.transpose(heads, [0, 2, 1, 3]), [B, T, d]);
          const mid = tf.add(h, proj('self_attn.o_proj', attended));
          const m = norm(mid, W(`${p}.post_attention_layernorm.weight`));
          const gate = proj('mlp.gate_proj', m);
          return tf.add(mid, proj('mlp.down_proj', swiglu(gate, proj('mlp.up_proj', m))));
        });
      }
      return linear('lm_head', norm(h, W('model.norm.weight')), W('lm_head.weight'));
    });
  return {
    spec,
    weights,
    forward,
    dispose: () => {
      tf.dispose(Object.values(weights));
      cache.forEach((c) => tf.dispose([c.cos, c.sin]));
    },
  };
}
