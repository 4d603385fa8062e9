import * as tf from '@tensorflow/tfjs-core';
import { ensureTokenCrossEntropyCuda, TOKEN_CROSS_ENTROPY_CUDA, TOKEN_CROSS_ENTROPY_CUDA_GRAD } from '../kernels/token-cross-entropy-cuda.js';

// The fused kernel's gradient, registered once with the module (a gradient belongs to the
// kernel's name, whatever the backend); it runs only where the kernel did.
tf.registerGradient({
  kernelName: TOKEN_CROSS_ENTROPY_CUDA,
  inputsToSave: ['logits', 'targets'],
  outputsToSave: [false, true],
  gradFunc: (dy, saved) => {
    const [zs, ts, lse] = saved;
    const dyLoss = Array.isArray(dy) ? dy[0] : dy;
    return {
      logits: () => tf.engine().runKernel(TOKEN_CROSS_ENTROPY_CUDA_GRAD, { logits: zs, targets: ts, lse, dy: dyLoss }, {}) as tf.Tensor,
      targets: () => tf.zerosLike(ts),
    };
  },
});

/**
 * −log softmax(logits)[target] at every position: logits [..., V], targets [...] int32 →
 * [...]. Its gradient, (softmax(logits) − onehot(target))·dy, keeps only the logits, the
 * targets and the log-sum-exp; through tfjs ops (logSoftmax, a one-hot product and a sum
 * over V) the backward would keep two V-wide tensors and make the sum's gradient from a
 * host-built array of ones as large as the logits. On the CUDA backend one fused kernel each
 * way (one read of the logits forward; one read and one write backward).
 */
export function tokenCrossEntropy(logits: tf.Tensor, targets: tf.Tensor): tf.Tensor {
  const V = logits.shape[logits.rank - 1];
  if (targets.dtype !== 'int32') throw new TypeError(`tokenCrossEntropy: targets must be int32, got ${targets.dtype}`);
  if (!tf.util.arraysEqual(targets.shape, logits.shape.slice(0, -1))) {
    throw new RangeError(`tokenCrossEntropy: targets [${targets.shape}] must be the shape of logits [${logits.shape}] without its last axis`);
  }
  if (logits.dtype !== 'float32') throw new TypeError(`tokenCrossEntropy: logits must be float32, got ${logits.dtype}`);
  if (!(V > 0)) throw new RangeError(`tokenCrossEntropy: logits [${logits.shape}] need a non-empty last axis (the vocabulary)`);
  if (ensureTokenCrossEntropyCuda(tf.getBackend())) {
    // The log-sum-exp is an output only for the gradient (which keeps its own copy).
    const [loss, lse] = tf.engine().runKernel(TOKEN_CROSS_ENTROPY_CUDA, { logits, targets }, {}) as tf.Tensor[];
    lse.dispose();
    return loss;
  }
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [z, save] = args as [tf.Tensor, tf.GradSaveFunc];
    const lse = tf.logSumExp(z, -1, true);
    save([z, targets, lse]);
    return {
      value: tf.tidy(() => tf.sub(tf.squeeze(lse, [-1]), tf.sum(tf.mul(z, tf.oneHot(targets, V)), -1))),
      gradFunc: (dy: tf.Tensor, [zs, ts, lses]: tf.Tensor[]) =>
        tf.tidy(() => tf.mul(tf.sub(tf.exp(tf.sub(zs, lses)), tf.oneHot(ts, V)), tf.expandDims(dy, -1))),
    };
  });
  return op(logits);
}
