import * as tf from '@tensorflow/tfjs-core';
import type { ParamOps } from '@alto/core';
import { adamwInPlaceCuda } from './kernels/adamw-cuda.js';

/** The optimizer primitives of @alto/core on tf tensors; persistent values are tf.Variables. */
export const tfParamOps: ParamOps<tf.Tensor> = {
  zerosLike: (x) => {
    const z = tf.zerosLike(x);
    const v = tf.variable(z, false);
    z.dispose();
    return v;
  },
  axpby: (a, x, b, y) => tf.add(tf.mul(x, a), tf.mul(y, b)),
  mul: (x, y) => tf.mul(x, y),
  divSqrtEps: (x, y, c, eps) => tf.div(x, tf.add(tf.mul(tf.sqrt(y), c), eps)),
  assign: (target, value) => (target as tf.Variable).assign(value),
  scope: (fn) => tf.tidy(fn),
  dispose: (x) => x.dispose(),
  adamwInPlace: adamwInPlaceCuda,
};
