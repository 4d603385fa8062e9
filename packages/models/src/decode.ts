import * as tf from '@tensorflow/tfjs-core';
import { hostAdapterScope, HostAdapter, withLoraScope } from '@alto/tfjs';
import type { AdapterConfig, AdapterWeights } from '@alto/core';
import type { TextExample } from './examples.js';
import { BOS, decode, encode, EOS, PAD } from './tokenizer.js';

/**
 * Greedy completions of `prompts` under several adapters at once (or none): one batched
 * forward per generated token, each adapter on its own block of rows. Returns, per adapter,
 * the completion of each prompt.
 */
export function greedyComplete(
  forward: (x: tf.Tensor) => tf.Tensor,
  context: number,
  prompts: readonly string[],
  adapters: readonly { weights: AdapterWeights; config: Pick<AdapterConfig, 'rank' | 'alpha'> }[],
  maxNew: number,
): string[][] {
  const groups = Math.max(1, adapters.length);
  const N = prompts.length;
  const R = groups * N;
  const ids = new Int32Array(R * context).fill(PAD);
  const pos = new Int32Array(R);
  const done = new Uint8Array(R);
  const generated: number[][] = Array.from({ length: R }, () => []);
  prompts.forEach((p, i) => {
    const seq = [BOS, ...encode(p)];
    for (let g = 0; g < groups; g++) {
      const r = g * N + i;
      seq.forEach((t, k) => (ids[r * context + k] = t));
      pos[r] = seq.length - 1;
    }
  });
  const hosted: HostAdapter[] = adapters.map((a) => ({ ...a, rows: N }));
  const scope = adapters.length > 0 ? hostAdapterScope(hosted) : null;
  try {
    for (let step = 0; step < maxNew; step++) {
      const next = tf.tidy(() => {
        const x = tf.tensor2d(ids, [R, context], 'int32');
        const logits = withLoraScope(scope?.scope ?? null, () => forward(x)) as tf.Tensor3D;
        const at = tf.gather(tf.reshape(logits, [R * context, -1]), tf.tensor1d(Int32Array.from(pos, (p, r) => r * context + p), 'int32'));
        return tf.argMax(at, -1).dataSync();
      });
      let active = 0;
      for (let r = 0; r < R; r++) {
        if (done[r]) continue;
        const t = next[r];
        if (t === EOS || pos[r] + 1 >= context) {
          done[r] = 1;
          continue;
        }
        generated[r].push(t);
        pos[r] += 1;
        ids[r * context + pos[r]] = t;
        active++;
      }
      if (active === 0) break;
    }
  } finally {
    scope?.dispose();
  }
  return Array.from({ length: groups }, (_, g) => generated.slice(g * N, (g + 1) * N).map((tokens) => decode(tokens)));
}

/** Exact-match accuracy of each adapter on `examples` (fractions in [0, 1]). */
export function exactMatch(
  forward: (x: tf.Tensor) => tf.Tensor,
  context: number,
  examples: readonly TextExample[],
  adapters: readonly { weights: AdapterWeights; config: Pick<AdapterConfig, 'rank' | 'alpha'> }[],
): number[] {
  const maxNew = Math.max(...examples.map((e) => encode(e.completion).length)) + 1;
  const outputs = greedyComplete(forward, context, examples.map((e) => e.prompt), adapters, maxNew);
  return outputs.map((completions) => completions.filter((c, i) => c === examples[i].completion).length / examples.length);
}
