import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import '../index.js';
import { ATTENTION_CUDA } from '../kernels/attention-cuda.js';
import { LAYER_NORM_CUDA } from '../kernels/layer-norm-cuda.js';
import { ROPE_CUDA, SWIGLU_CUDA } from '../kernels/llama-ops-cuda.js';
import { RMS_NORM_CUDA } from '../kernels/rms-norm-cuda.js';
import { TOKEN_CROSS_ENTROPY_CUDA } from '../kernels/token-cross-entropy-cuda.js';

// The fused CUDA kernels' gradients are registered when @alto/tfjs loads, not on first use:
// any backend, GPU or not, finds them (their bodies run on the device; see test/tfjs-cuda).
describe('fused kernels', () => {
  it.each([ATTENTION_CUDA, LAYER_NORM_CUDA, RMS_NORM_CUDA, ROPE_CUDA, SWIGLU_CUDA, TOKEN_CROSS_ENTROPY_CUDA])('%s has its gradient registered at load', (name) => {
    expect(tf.getGradient(name)?.kernelName).toBe(name);
  });
});
