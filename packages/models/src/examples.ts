import * as tf from '@tensorflow/tfjs-core';
import { tokenCrossEntropy, type DataSource } from '@alto/tfjs';
import { BOS, encode, EOS, PAD } from './tokenizer.js';

/** One prompt/completion pair, the unit of every text task. */
export interface TextExample {
  prompt: string;
  completion: string;
}

/**
 * Encodes examples for next-token training: x = [BOS, prompt, completion, EOS] shifted, and
 * y = [2, T] per example: row 0 the next-token targets, row 1 a mask that is 1 where the target
 * is a completion token or the final EOS (the loss counts only the completion).
 */
export function encodeExamples(examples: readonly TextExample[], context: number): { x: Int32Array; y: Float32Array; n: number } {
  const n = examples.length;
  const x = new Int32Array(n * context).fill(PAD);
  const y = new Float32Array(n * 2 * context);
  examples.forEach((e, i) => {
    const p = encode(e.prompt);
    const c = encode(e.completion);
    const seq = [BOS, ...p, ...c, EOS];
    if (seq.length - 1 > context) throw new RangeError(`example "${e.prompt}${e.completion}" needs ${seq.length - 1} positions, the model has ${context}`);
    for (let t = 0; t < seq.length - 1; t++) {
      x[i * context + t] = seq[t];
      y[i * 2 * context + t] = seq[t + 1];
      if (t >= p.length) y[i * 2 * context + context + t] = 1;
    }
  });
  return { x, y, n };
}

/** A data source over encoded examples (x: int32 [n, T], y: float32 [n, 2, T]). */
export function textDataSource(examples: readonly TextExample[], context: number): DataSource & { examples: readonly TextExample[]; dispose(): void } {
  if (examples.length === 0) throw new RangeError('a text task needs at least one example');
  const { x, y, n } = encodeExamples(examples, context);
  const xt = tf.tensor2d(x, [n, context], 'int32');
  const yt = tf.tensor3d(y, [n, 2, context]);
  return {
    size: n,
    examples,
    gather: (indices) =>
      tf.tidy(() => {
        const idx = tf.tensor1d(indices, 'int32');
        return { x: tf.gather(xt, idx), y: tf.gather(yt, idx) };
      }),
    dispose: () => tf.dispose([xt, yt]),
  };
}

/** Per-example loss: mean cross-entropy over the completion tokens. */
export function completionLoss(y: tf.Tensor, logits: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const [B, , T] = y.shape;
    const targets = tf.cast(tf.reshape(tf.slice(y, [0, 0, 0], [B, 1, T]), [B, T]), 'int32');
    const mask = tf.reshape(tf.slice(y, [0, 1, 0], [B, 1, T]), [B, T]);
    const nll = tokenCrossEntropy(logits, targets);
    return tf.div(tf.sum(tf.mul(nll, mask), 1), tf.maximum(tf.sum(mask, 1), 1));
  });
}
