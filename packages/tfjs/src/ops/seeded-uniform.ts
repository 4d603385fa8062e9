import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '@alto/core';
import { loadNativeKernels } from '@alto/kernels';
import { ensureSeededUniformCuda, SEEDED_UNIFORM_CUDA, type SeededUniformAttrs } from '../kernels/seeded-uniform-cuda.js';

// On the host, the addon's threads where it loads (the same values as the JavaScript loop).
const native = loadNativeKernels();
const hostFill = native.ok && typeof native.kernels.cpuFillUniform === 'function' ? native.kernels.cpuFillUniform.bind(native.kernels) : undefined;

/**
 * A float32 tensor of `rng`'s next draws, uniform in [lo, hi), exactly as rng.fillUniform
 * would give them (and `rng` moved past them). On the CUDA backend they are drawn on the
 * device: no host array and no upload (a rank-64 adapter's A matrices on a 1.1 B Llama are
 * 19 M values); elsewhere on the host.
 */
export function seededUniform(rng: Rng, shape: number[], lo: number, hi: number): tf.Tensor {
  const n = shape.reduce((a, d) => a * d, 1);
  if (ensureSeededUniformCuda(tf.getBackend())) {
    const attrs: SeededUniformAttrs = { shape, state: rng.take(n), lo, hi };
    return tf.engine().runKernel(SEEDED_UNIFORM_CUDA, {}, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
  }
  return tf.tensor(rng.fillUniform(new Float32Array(n), lo, hi, hostFill), shape, 'float32');
}
