import * as tf from '@tensorflow/tfjs-core';

/**
 * −log softmax(logits)[target] at every position: logits [..., V], targets [...] int32 →
 * [...]. Its gradient, (softmax(logits) − onehot(target))·dy, keeps only the logits, the
 * targets and the log-sum-exp; through tfjs ops (logSoftmax, a one-hot product and a sum
 * over V) the backward would keep two V-wide tensors and make the sum's gradient from a
 * host-built array of ones as large as the logits.
 */
export function tokenCrossEntropy(logits: tf.Tensor, targets: tf.Tensor): tf.Tensor {
  const V = logits.shape[logits.rank - 1];
  if (targets.dtype !== 'int32') throw new TypeError(`tokenCrossEntropy: targets must be int32, got ${targets.dtype}`);
  if (!tf.util.arraysEqual(targets.shape, logits.shape.slice(0, -1))) {
    throw new RangeError(`tokenCrossEntropy: targets [${targets.shape}] must be the shape of logits [${logits.shape}] without its last axis`);
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
