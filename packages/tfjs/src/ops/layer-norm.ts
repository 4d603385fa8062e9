import * as tf from '@tensorflow/tfjs-core';
import { ensureLayerNormCuda, LAYER_NORM_CUDA, LAYER_NORM_CUDA_GRAD } from '../kernels/layer-norm-cuda.js';

// The fused kernel's gradient, registered once with the module (a gradient belongs to the
// kernel's name, whatever the backend); it runs only where the kernel did.
tf.registerGradient({
  kernelName: LAYER_NORM_CUDA,
  inputsToSave: ['x', 'g'],
  outputsToSave: [false, true, true],
  gradFunc: (dy, saved) => {
    const [xs, gs, mean, invStd] = saved;
    const dyY = Array.isArray(dy) ? dy[0] : dy;
    const [dx, dg, db] = tf.engine().runKernel(LAYER_NORM_CUDA_GRAD, { x: xs, g: gs, mean, invStd, dy: dyY }, {}) as tf.Tensor[];
    return { x: () => dx, g: () => dg, b: () => db };
  },
});

/**
 * LayerNorm over the last axis: y = (x − mean) / sqrt(var + eps) · g + b, with g and b of the
 * last axis's size. On the CUDA backend (unless `fused` is false) one fused kernel, and one
 * pair for the gradients of x, g and b; elsewhere the same arithmetic as tfjs ops.
 */
export function layerNorm(x: tf.Tensor, g: tf.Tensor, b: tf.Tensor, eps: number, options: { fused?: boolean } = {}): tf.Tensor {
  const cols = x.shape[x.shape.length - 1];
  for (const [name, t] of [['g', g], ['b', b]] as const) {
    if (t.rank !== 1 || t.shape[0] !== cols) throw new RangeError(`layerNorm: ${name} must have shape [${cols}] (the last axis of x), got [${t.shape}]`);
  }
  if (!(eps >= 0)) throw new RangeError(`layerNorm: eps must be ≥ 0, got ${eps}`);
  if ([x, g, b].some((t) => t.dtype !== 'float32')) throw new TypeError('layerNorm: x, g and b must be float32');
  if (options.fused !== false && ensureLayerNormCuda(tf.getBackend())) {
    // The row statistics are outputs only for the gradient (which keeps its own copies).
    const [y, mean, invStd] = tf.engine().runKernel(LAYER_NORM_CUDA, { x, g, b }, { eps }) as tf.Tensor[];
    tf.dispose([mean, invStd]);
    return y;
  }
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(x, -1, true);
    return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, eps))), g), b);
  });
}
