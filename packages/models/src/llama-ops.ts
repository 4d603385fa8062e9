import * as tf from '@tensorflow/tfjs-core';

// The Llama block's elementwise parts with gradients that save only their inputs: tfjs ops
// would keep every intermediate product for the backward (five FFN-wide tensors per layer
// for SwiGLU instead of two, three head-wide ones per rotation instead of none).

/** silu(gate)·up, as one differentiable op that keeps gate and up for its gradient. */
export function swiglu(gate: tf.Tensor, up: tf.Tensor): tf.Tensor {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [g, u, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    save([g, u]);
    return {
      value: tf.tidy(() => tf.mul(tf.mul(g, tf.sigmoid(g)), u)),
      gradFunc: (dy: tf.Tensor, [gs, us]: tf.Tensor[]) =>
        tf.tidy(() => {
          const s = tf.sigmoid(gs);
          const silu = tf.mul(gs, s);
          // d silu / dg = s·(1 + g·(1 − s))
          const dsilu = tf.mul(s, tf.add(1, tf.mul(gs, tf.sub(1, s))));
          return [tf.mul(tf.mul(dy, us), dsilu), tf.mul(dy, silu)];
        }),
    };
  });
  return op(gate, up);
}

/**
 * Rotary positions, rotate-half form: x·cos + rotate(x)·sin with rotate([x1, x2]) = [−x2, x1]
 * over the last axis. cos and sin are constants (no gradient); the gradient keeps nothing:
 * dx = dy·cos + rotateᵀ(dy·sin), rotateᵀ([z1, z2]) = [z2, −z1].
 */
export function rope(x: tf.Tensor, cos: tf.Tensor, sin: tf.Tensor): tf.Tensor {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xi, save] = args as [tf.Tensor, tf.GradSaveFunc];
    save([]);
    return {
      value: tf.tidy(() => {
        const [x1, x2] = tf.split(xi, 2, -1);
        return tf.add(tf.mul(xi, cos), tf.mul(tf.concat([tf.neg(x2), x1], -1), sin));
      }),
      gradFunc: (dy: tf.Tensor) =>
        tf.tidy(() => {
          const [z1, z2] = tf.split(tf.mul(dy, sin), 2, -1);
          return tf.add(tf.mul(dy, cos), tf.concat([z2, tf.neg(z1)], -1));
        }),
    };
  });
  return op(x);
}
