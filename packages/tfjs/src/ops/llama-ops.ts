import * as tf from '@tensorflow/tfjs-core';
import { ensureLlamaOpsCuda, ROPE_CUDA, ROPE_CUDA_GRAD, SWIGLU_CUDA, SWIGLU_CUDA_GRAD } from '../kernels/llama-ops-cuda.js';

// The Llama block's elementwise parts with gradients that save only their inputs: tfjs ops
// would keep every intermediate product for the backward (five FFN-wide tensors per layer
// for SwiGLU instead of two, three head-wide ones per rotation instead of none). On the CUDA
// backend each is one fused pass forward and one backward.

// The fused kernels' gradients, registered once with the module (a gradient belongs to the
// kernel's name, whatever the backend); they run only where the kernels did.
tf.registerGradient({
  kernelName: SWIGLU_CUDA,
  inputsToSave: ['gate', 'up'],
  gradFunc: (dy, [gate, up]) => {
    const [dgate, dup] = tf.engine().runKernel(SWIGLU_CUDA_GRAD, { gate, up, dy: dy as tf.Tensor }, {}) as tf.Tensor[];
    return { gate: () => dgate, up: () => dup };
  },
});
tf.registerGradient({
  kernelName: ROPE_CUDA,
  inputsToSave: ['cos', 'sin'],
  gradFunc: (dy, [cos, sin]) => ({
    x: () => tf.engine().runKernel(ROPE_CUDA_GRAD, { x: dy as tf.Tensor, cos, sin }, {}) as tf.Tensor,
    // Positions are constants; were a gradient asked of them, it is not this op's to give.
    cos: () => tf.zerosLike(cos),
    sin: () => tf.zerosLike(sin),
  }),
});

const fused = (): boolean => ensureLlamaOpsCuda(tf.getBackend());

/** silu(gate)·up, as one differentiable op that keeps gate and up for its gradient. */
export function swiglu(gate: tf.Tensor, up: tf.Tensor): tf.Tensor {
  if (!tf.util.arraysEqual(gate.shape, up.shape)) throw new RangeError(`swiglu: gate and up must have one shape, got [${gate.shape}] and [${up.shape}]`);
  if (gate.dtype !== 'float32' || up.dtype !== 'float32') throw new TypeError('swiglu: gate and up must be float32');
  if (fused()) return tf.engine().runKernel(SWIGLU_CUDA, { gate, up }, {}) as tf.Tensor;
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
 * Rotary positions, rotate-half form, over the last axis of x [..., T, dh]: x·cos + rotate(x)·sin
 * with rotate([x1, x2]) = [−x2, x1]; cos and sin are [T, dh] constants (no gradient). The
 * gradient keeps nothing: dx = dy·cos + rotateᵀ(dy·sin), rotateᵀ([z1, z2]) = [z2, −z1].
 */
export function rope(x: tf.Tensor, cos: tf.Tensor, sin: tf.Tensor): tf.Tensor {
  const [T, dh] = x.shape.slice(-2);
  if (x.rank < 2 || dh % 2 !== 0) throw new RangeError(`rope: x must be [..., T, dh] with dh even, got [${x.shape}]`);
  if (!tf.util.arraysEqual(cos.shape, [T, dh]) || !tf.util.arraysEqual(sin.shape, [T, dh])) {
    throw new RangeError(`rope: cos and sin must be [${T}, ${dh}] (x is [${x.shape}]), got [${cos.shape}] and [${sin.shape}]`);
  }
  if (fused()) return tf.engine().runKernel(ROPE_CUDA, { x, cos, sin }, {}) as tf.Tensor;
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
