import * as tf from '@tensorflow/tfjs-core';
import { ensureRmsNormCuda, RMS_NORM_CUDA, RMS_NORM_CUDA_GRAD } from '../kernels/rms-norm-cuda.js';

// The fused kernel's gradient, registered once with the module (a gradient belongs to the
// kernel's name, whatever the backend); it runs only where the kernel did.
tf.registerGradient({
  kernelName: RMS_NORM_CUDA,
  inputsToSave: ['x', 'g'],
  outputsToSave: [false, true],
  gradFunc: (dy, saved) => {
    const [xs, gs, invRms] = saved;
    const dyY = Array.isArray(dy) ? dy[0] : dy;
    const [dx, dg] = tf.engine().runKernel(RMS_NORM_CUDA_GRAD, { x: xs, g: gs, invRms, dy: dyY }, {}) as tf.Tensor[];
    return { x: () => dx, g: () => dg };
  },
});

/**
 * RMSNorm over the last axis: y = x / sqrt(mean(x²) + eps) · g, with g of the last axis's
 * size. On the CUDA backend one fused kernel (and one for the gradient of x and g); on other
 * backends the same arithmetic as tfjs ops.
 */
export function rmsNorm(x: tf.Tensor, g: tf.Tensor, eps: number): tf.Tensor {
  const cols = x.shape[x.shape.length - 1];
  if (g.rank !== 1 || g.shape[0] !== cols) throw new RangeError(`rmsNorm: g must have shape [${cols}] (the last axis of x), got [${g.shape}]`);
  if (!(eps >= 0)) throw new RangeError(`rmsNorm: eps must be ≥ 0, got ${eps}`);
  if (x.dtype !== 'float32' || g.dtype !== 'float32') throw new TypeError('rmsNorm: x and g must be float32');
  if (ensureRmsNormCuda(tf.getBackend())) {
    // The inverse RMS is an output only for the gradient (which keeps its own copy).
    const [y, invRms] = tf.engine().runKernel(RMS_NORM_CUDA, { x, g }, { eps }) as tf.Tensor[];
    invRms.dispose();
    return y;
  }
  return tf.tidy(() => tf.mul(tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), eps))), g));
}
