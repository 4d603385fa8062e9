import * as tf from '@tensorflow/tfjs-core';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, encodeSafetensors, Rng, type HostTensor } from '@alto/core';
import { loadNativeKernels } from '@alto/kernels';
import { initBackend } from '@alto/tfjs';
import { createLlama, initLlamaWeights, llamaSpec, readLlamaWeights, type LlamaSpec } from './llama.js';

/** The same model in plain float64 JavaScript, written from the Hugging Face definition. */
function reference(spec: LlamaSpec, w: Record<string, HostTensor>, tokens: number[]): number[][] {
  const { dModel: d, heads: H, kvHeads: KV } = spec;
  const dh = d / H, group = H / KV, T = tokens.length;
  const get = (name: string) => w[name];
  const matT = (x: number[][], name: string) => {
    const { shape: [out, inn], data } = get(name);
    return x.map((row) => Array.from({ length: out }, (_, o) => row.reduce((s, v, i) => s + v * data[o * inn + i], 0)));
  };
  const norm = (x: number[][], name: string) =>
    x.map((row) => {
      const r = 1 / Math.sqrt(row.reduce((s, v) => s + v * v, 0) / row.length + spec.normEps);
      return row.map((v, i) => v * r * get(name).data[i]);
    });
  const rope = (v: number[], t: number) =>
    v.map((x, e) => {
      const i = e % (dh / 2);
      const angle = t / Math.pow(spec.ropeTheta, (2 * i) / dh);
      const rotated = e < dh / 2 ? -v[e + dh / 2] : v[e - dh / 2];
      return x * Math.cos(angle) + rotated * Math.sin(angle);
    });
  const emb = get('model.embed_tokens.weight');
  let h = tokens.map((tok) => Array.from(emb.data.slice(tok * d, (tok + 1) * d)));
  for (let l = 0; l < spec.layers; l++) {
    const p = `model.layers.${l}`;
    const a = norm(h, `${p}.input_layernorm.weight`);
    const q = matT(a, `${p}.self_attn.q_proj.weight`), k = matT(a, `${p}.self_attn.k_proj.weight`), v = matT(a, `${p}.self_attn.v_proj.weight`);
    const attended = h.map(() => new Array(d).fill(0));
    for (let head = 0; head < H; head++) {
      const kvh = Math.floor(head / group);
      const qh = q.map((row, t) => rope(row.slice(head * dh, (head + 1) * dh), t));
      const kh = k.map((row, t) => rope(row.slice(kvh * dh, (kvh + 1) * dh), t));
      for (let t = 0; t < T; t++) {
        const s = Array.from({ length: t + 1 }, (_, j) => qh[t].reduce((acc, x, e) => acc + x * kh[j][e], 0) / Math.sqrt(dh));
        const mx = Math.max(...s), ex = s.map((x) => Math.exp(x - mx)), z = ex.reduce((a2, b) => a2 + b, 0);
        for (let j = 0; j <= t; j++) for (let e = 0; e < dh; e++) attended[t][head * dh + e] += (ex[j] / z) * v[j][kvh * dh + e];
      }
    }
    const o = matT(attended, `${p}.self_attn.o_proj.weight`);
    h = h.map((row, t) => row.map((x, i) => x + o[t][i]));
    const m = norm(h, `${p}.post_attention_layernorm.weight`);
    const g = matT(m, `${p}.mlp.gate_proj.weight`), u = matT(m, `${p}.mlp.up_proj.weight`);
    const f = matT(g.map((row, t) => row.map((x, i) => (x / (1 + Math.exp(-x))) * u[t][i])), `${p}.mlp.down_proj.weight`);
    h = h.map((row, t) => row.map((x, i) => x + f[t][i]));
  }
  return matT(norm(h, 'model.norm.weight'), 'lm_head.weight');
}

describe('the Llama-shaped model', () => {
  beforeAll(async () => {
    await initBackend('cpu');
  });
  const spec = llamaSpec({ vocab: 11, dModel: 8, layers: 2, heads: 2, kvHeads: 1, ffn: 12, context: 8 });
  const tokens = [3, 1, 7, 10, 0];

  it('matches a float64 reference of RMSNorm, rotary positions, SwiGLU and grouped-query attention', () => {
    const weights = initLlamaWeights(spec, 5);
    // larger weights than the init, so that every part moves the output
    for (const t of Object.values(weights)) if (t.shape.length === 2) t.data.forEach((v, i) => (t.data[i] = v * 20));
    const model = createLlama(spec, weights);
    const got = model.forward(tf.tensor2d([tokens], [1, tokens.length], 'int32'));
    const ref = reference(spec, weights, tokens);
    const flat = ref.flat();
    const out = Array.from(got.dataSync());
    const err = Math.sqrt(out.reduce((s, v, i) => s + (v - flat[i]) ** 2, 0) / flat.reduce((s, v) => s + v * v, 0));
    expect(got.shape).toEqual([1, tokens.length, spec.vocab]);
    expect(err).toBeLessThan(1e-5);
    // causal: changing the last token leaves the earlier positions alone
    const other = Array.from(model.forward(tf.tensor2d([[3, 1, 7, 10, 5]], [1, 5], 'int32')).dataSync());
    expect(other.slice(0, 4 * spec.vocab)).toEqual(out.slice(0, 4 * spec.vocab));
    expect(other.slice(4 * spec.vocab)).not.toEqual(out.slice(4 * spec.vocab));
    model.dispose();
  });

  it('reads Hugging Face-layout safetensors and names what is missing or misshapen', async () => {
    const weights = initLlamaWeights(spec, 9);
    const dir = mkdtempSync(join(tmpdir(), 'alto-llama-'));
    writeFileSync(join(dir, 'model.safetensors'), encodeSafetensors(weights));
    const loaded = await readLlamaWeights(join(dir, 'model.safetensors'), spec);
    const a = createLlama(spec, weights), b = createLlama(spec, loaded);
    const x = tf.tensor2d([tokens], [1, 5], 'int32');
    expect(Array.from(b.forward(x).dataSync())).toEqual(Array.from(a.forward(x).dataSync()));
    const { ['model.norm.weight']: _gone, ...partial } = weights;
    partial['model.layers.0.mlp.up_proj.weight'] = { shape: [3, 8], data: new Float32Array(24) };
    writeFileSync(join(dir, 'bad.safetensors'), encodeSafetensors(partial));
    const err = await readLlamaWeights(join(dir, 'bad.safetensors'), spec).catch((e) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toMatch(/no tensor model\.norm\.weight/);
    expect(err.message).toMatch(/up_proj\.weight is \[3,8\], the spec needs \[12,8\]/);
  });

  it('random weights: the native threads give the JavaScript loop\'s values bit for bit (near-normal and uniform), and the generator continues alike', () => {
    const load = loadNativeKernels();
    if (!load.ok) {
      console.warn(`SKIPPED native weight initialisation: ${load.reason}`);
      return;
    }
    const spec = llamaSpec({ vocab: 37, dModel: 24, layers: 2, heads: 4, kvHeads: 2, ffn: 40, context: 8 });
    const js = initLlamaWeights(spec, 1234, { native: false }), native = initLlamaWeights(spec, 1234);
    for (const name of Object.keys(js)) expect(Buffer.from(native[name].data.buffer).equals(Buffer.from(js[name].data.buffer)), name).toBe(true);
    // Long arrays from states near the counter's wrap-around, then the next draws.
    for (const seed of [0, 4294967295, 0x92d68ca2]) {
      const a = new Rng(seed), b = new Rng(seed);
      const x = a.fillNearNormal(new Float32Array(100_003), 0.5), y = b.fillNearNormal(new Float32Array(100_003), 0.5, load.kernels.cpuFillNearNormal);
      expect(Buffer.from(y.buffer).equals(Buffer.from(x.buffer))).toBe(true);
      expect(b.next()).toBe(a.next());
      const u = a.fillUniform(new Float32Array(70_001), -0.3, 0.7), w = b.fillUniform(new Float32Array(70_001), -0.3, 0.7, load.kernels.cpuFillUniform);
      expect(Buffer.from(w.buffer).equals(Buffer.from(u.buffer))).toBe(true);
      expect(b.next()).toBe(a.next());
    }
    // sd as asked
    const v = new Rng(5).fillNearNormal(new Float32Array(200_000), 0.02, load.kernels.cpuFillNearNormal);
    const sd = Math.sqrt(v.reduce((s, t) => s + t * t, 0) / v.length);
    expect(Math.abs(sd - 0.02)).toBeLessThan(0.0005);
  });

  it('rejects a bad shape before building anything, naming each field', () => {
    expect(() => llamaSpec({ dModel: 10, heads: 4, kvHeads: 3, layers: 0 })).toThrow(ConfigError);
    const e = (() => {
      try {
        llamaSpec({ dModel: 12, heads: 4, kvHeads: 3, layers: 0 });
      } catch (err) {
        return err as ConfigError;
      }
    })()!;
    expect(e.issues.map((i) => i.field).sort()).toEqual(['model.layers']);
    expect(() => llamaSpec({ dModel: 12, heads: 4, kvHeads: 3 })).toThrow(/model\.kvHeads: must divide heads/);
    expect(() => llamaSpec({ dModel: 12, heads: 4 })).toThrow(/dModel \/ heads must be even/);
  });
});
