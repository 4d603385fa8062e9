import * as tf from '@tensorflow/tfjs-core';
import { ATTENTION_CUDA, ATTENTION_CUDA_GRAD, ensureAttentionCuda } from '../kernels/attention-cuda.js';

// The fused kernel's gradient, registered once with the module (a gradient belongs to the
// kernel's name, whatever the backend); it runs only where the kernel did.
tf.registerGradient({
  kernelName: ATTENTION_CUDA,
  inputsToSave: ['q', 'k', 'v'],
  outputsToSave: [true, true],
  gradFunc: (dy, saved, attrs) => {
    const [qs, ks, vs, o, lse] = saved;
    const dO = Array.isArray(dy) ? dy[0] : dy;
    const [dq, dk, dv] = tf.engine().runKernel(ATTENTION_CUDA_GRAD, { q: qs, k: ks, v: vs, o, lse, dO }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
    return { q: () => dq, k: () => dk, v: () => dv };
  },
});

/** 'tf32' unless the current backend's matmuls are exact fp32. */
function backendPrecision(): 'fp32' | 'tf32' {
  const options = (tf.backend() as unknown as { options?: { matmulPrecision?: string } }).options;
  return options?.matmulPrecision === 'fp32' ? 'fp32' : 'tf32';
}
const masks = new Map<string, tf.Tensor>();

/** The additive causal mask for `group` query heads stacked along the rows: [group·T, T]. */
function causalMask(group: number, T: number): tf.Tensor {
  const key = `${group}x${T}`;
  let mask = masks.get(key);
  if (!mask) {
    const values = new Float32Array(group * T * T);
    for (let g = 0; g < group; g++) for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) values[(g * T + i) * T + j] = -1e9;
    mask = tf.keep(tf.tensor2d(values, [group * T, T]));
    masks.set(key, mask);
  }
  return mask;
}

/**
 * Causal attention with grouped-query heads: out[b][h][i] = Σ_{j ≤ i} softmax_j(scale·q_i·k_j)·v_j
 * for q [B, H, T, dh] and k, v [B, KV, T, dh], query head h reading key head h / (H / KV);
 * scale defaults to 1/√dh. On the CUDA backend (unless `fused` is false) one fused kernel that
 * stores no T × T matrix, and one pair for the gradients of q, k and v; elsewhere tfjs ops
 * (the T × T scores in memory). `precision` of the fused kernel's products: 'tf32' (tensor
 * cores) or 'fp32' (exact); by default as the backend's matmuls ('tf32' unless they are fp32).
 */
export function causalAttention(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, options: { scale?: number; fused?: boolean; precision?: 'fp32' | 'tf32' } = {}): tf.Tensor4D {
  const [B, H, T, dh] = q.shape;
  const KV = k.shape[1];
  if (k.shape[0] !== B || k.shape[2] !== T || k.shape[3] !== dh || !tf.util.arraysEqual(k.shape, v.shape)) {
    throw new RangeError(`causalAttention: k and v must both have shape [${B}, KV, ${T}, ${dh}] (q is [${q.shape}]), got [${k.shape}] and [${v.shape}]`);
  }
  if (KV < 1 || H % KV !== 0) throw new RangeError(`causalAttention: the query heads (${H}) must be a multiple of the key/value heads (${KV})`);
  const scale = options.scale ?? 1 / Math.sqrt(dh);
  if (!Number.isFinite(scale)) throw new RangeError(`causalAttention: scale must be finite, got ${scale}`);
  if (options.precision !== undefined && options.precision !== 'fp32' && options.precision !== 'tf32') {
    throw new RangeError(`causalAttention: precision must be 'fp32' or 'tf32', got ${JSON.stringify(options.precision)}`);
  }
  if (options.fused !== false && ensureAttentionCuda(tf.getBackend())) {
    // The log-sum-exp is an output only for the gradient (which keeps its own copy).
    const tf32 = (options.precision ?? backendPrecision()) === 'tf32';
    const [out, lse] = tf.engine().runKernel(ATTENTION_CUDA, { q, k, v }, { scale, tf32 }) as tf.Tensor[];
    lse.dispose();
    return out as tf.Tensor4D;
  }
  const group = H / KV;
  return tf.tidy(() => {
    // The `group` query heads of each key/value head (consecutive heads) stacked along the rows.
    const grouped = tf.reshape(q, [B, KV, group * T, dh]);
    const scores = tf.add(tf.mul(tf.matMul(grouped, k, false, true), scale), causalMask(group, T));
    return tf.reshape(tf.matMul(tf.softmax(scores), v), [B, H, T, dh]) as tf.Tensor4D;
  });
}
