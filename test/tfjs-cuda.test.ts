import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { loadNativeKernels } from '@alto/kernels';
import { CUDA_BACKEND, cudaKernels, registerCudaBackend, resolveCudaOptions } from '@alto/tfjs-backend-cuda';
import { createLlama, initLlamaWeights, llamaSpec } from '@alto/models';
import { BackendUnavailableError, CUDA_PROVIDER, initBackend, tfjsKernels } from '@alto/tfjs';
import { runTune, validateConfig } from '@alto/cli';
import { runCases } from './tfjs-cuda/cases.js';

/**
 * The tfjs CUDA backend: option checks and registration run everywhere; the op checks against
 * the cpu backend need a GPU and are skipped elsewhere, saying so (on the GPU machine they run
 * as bench/tfjs-cuda/device-run.sh).
 */
const load = loadNativeKernels();
const registration = registerCudaBackend();
if (!registration.ok) console.warn(`[tfjs-backend-cuda] device checks SKIPPED: ${registration.reason}. They run on the GPU machine: bash bench/tfjs-cuda/device-run.sh`);

describe('tfjs CUDA backend: set-up', () => {
  it('rejects bad options before touching the GPU, naming every field', () => {
    expect(() => resolveCudaOptions({ device: -1, matmulPrecision: 'fp16' as 'fp32', priority: Number.NaN, cpuFallback: 'yes' as unknown as boolean, pagedMemory: 1 as unknown as boolean })).toThrow(
      /device: must be a non-negative integer[\s\S]*matmulPrecision: must be 'fp32', 'tf32' or 'bf16'[\s\S]*cpuFallback: must be true or false[\s\S]*pagedMemory: must be true or false[\s\S]*priority: must be a finite number/,
    );
    expect(resolveCudaOptions({ matmulPrecision: 'bf16' })).toEqual({ device: 0, matmulPrecision: 'bf16', priority: 3, cpuFallback: false, pagedMemory: true });
  });

  it('ships the CUDA engine in the addon exactly when the CUDA kernels are built', () => {
    if (!load.ok) throw new Error(load.reason);
    expect(typeof load.kernels.CudaEngine === 'function').toBe(load.kernels.cudaCompiled);
  });

  it('starts as `alto-cuda` through initBackend where a device is, and says why not elsewhere', async () => {
    if (!load.ok) throw new Error(load.reason);
    if (load.kernels.cudaDeviceCount() > 0) {
      await expect(initBackend('alto-cuda')).resolves.toBe('alto-cuda');
    } else {
      const failure = initBackend('alto-cuda');
      await expect(failure).rejects.toBeInstanceOf(BackendUnavailableError);
      await expect(failure).rejects.toThrow(/- alto-cuda: (no CUDA device 0 on this machine \(0 found\)|this build of @alto\/kernels has no CUDA engine)/);
    }
  });

  it('has every kernel that a Llama training step runs (forward, backward, Adam)', async () => {
    await tf.setBackend('cpu');
    const spec = llamaSpec({ vocab: 13, dModel: 16, layers: 1, heads: 4, kvHeads: 2, ffn: 24, context: 8 });
    const model = createLlama(spec, initLlamaWeights(spec, 3));
    const tokens = tf.tensor2d([[1, 5, 7, 2, 9, 12]], [1, 6], 'int32'), labels = tf.tensor1d([5, 7, 2, 9, 12, 0], 'int32');
    const weights = Object.entries(model.weights);
    const vars = Object.fromEntries(weights.map(([name, w]) => [name, tf.variable(w.clone(), true, name)]));
    const opt = tf.train.adam(0.01);
    const info = await tf.profile(() => {
      const { grads } = tf.engine().gradients(() => {
        const logits = tf.reshape(model.forward(tokens), [6, spec.vocab]);
        return tf.losses.softmaxCrossEntropy(tf.oneHot(labels, spec.vocab), logits) as tf.Scalar;
      }, weights.map(([, w]) => w));
      opt.applyGradients(weights.map(([name], i) => ({ name, tensor: grads[i] })));
      tf.dispose(grads);
    });
    const have = new Set(cudaKernels.map((k) => k.kernelName));
    // Backend kernels only (custom-gradient ops show in the profile under their op names).
    const used = [...new Set(info.kernelNames)].filter((k) => tf.getKernel(k, 'cpu'));
    expect(used.length).toBeGreaterThan(20);
    expect(used.filter((k) => !have.has(k)).sort()).toEqual([]);
    tf.dispose([tokens, labels, ...Object.values(vars)]);
    opt.dispose();
    model.dispose();
  });

  it('has every kernel that `alto tune` runs on the built-in Llama (batched steps, per-adapter losses, early exit, evaluation, exact match)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'alto-kernels-'));
    const rows = (n: number) => Array.from({ length: n }, (_, i) => JSON.stringify({ prompt: `${i}+${i}=`, completion: `${2 * i}` })).join('\n');
    await writeFile(join(dir, 'train.jsonl'), rows(12));
    await writeFile(join(dir, 'valid.jsonl'), rows(4));
    const config = validateConfig({
      model: { builtin: 'llama', vocab: 64, dModel: 16, layers: 1, heads: 4, kvHeads: 2, ffn: 24, context: 16, seed: 1 },
      backend: 'cpu',
      tasks: [{ name: 'sum', data: { train: 'train.jsonl', valid: 'valid.jsonl' }, searchSpace: { learningRate: [0.01, 0.02], rank: [2, 4], batchSize: [1, 2] }, targets: ['*_proj'], steps: 6 }],
      evalEvery: 2, validRows: 4, metricRows: 4, maxAdapters: 8,
    }, dir);
    const info = await tf.profile(async () => {
      await runTune(config, { out: join(dir, 'out'), earlyExit: true, sequential: false, saveAll: false, stream: new PassThrough() as unknown as NodeJS.WriteStream, version: 'test' });
    });
    const have = new Set(cudaKernels.map((k) => k.kernelName));
    // Backend kernels only; ALTO's own kernels (grouped LoRA, fused norms and attention) are
    // registered for the CUDA backend by @alto/tfjs and checked on the device.
    const used = [...new Set(info.kernelNames)].filter((k) => tf.getKernel(k, 'cpu') && !k.startsWith('Alto'));
    expect(used).toContain('Unpack'); // the gradient of the per-adapter loss vector
    expect(used.filter((k) => !have.has(k)).sort()).toEqual([]);
  }, 60_000);

  it('has op cases that run and leak nothing on the cpu backend itself (a check of the device harness)', async () => {
    const outcomes = await runCases('cpu');
    expect(outcomes.filter((o) => !o.ok).map((o) => `${o.name}: ${o.detail}`)).toEqual([]);
    expect(outcomes.length).toBeGreaterThan(25);
  }, 60_000);

  it('registers only where a device is, and says why not elsewhere', () => {
    if (!load.ok) throw new Error(load.reason);
    const devices = load.kernels.cudaDeviceCount();
    expect(registration.ok).toBe(devices > 0 && load.kernels.cudaCompiled);
    if (!registration.ok) expect(registration.reason).toMatch(/no CUDA device 0 on this machine \(0 found\)|no CUDA engine/);
    else expect(tf.findBackendFactory(CUDA_BACKEND)).toBeTruthy();
  });
});

describe.skipIf(!registration.ok)('tfjs CUDA backend on the device', () => {
  it("runs ALTO's grouped LoRA on the device kernels", () => {
    expect(tfjsKernels.resolve('groupedLora', CUDA_BACKEND).impl).toBe(CUDA_PROVIDER);
  });

  it('matches the cpu backend op by op (values, dtypes, shapes; no tensor leaked)', async () => {
    const outcomes = await runCases(CUDA_BACKEND);
    const failed = outcomes.filter((o) => !o.ok);
    expect(failed, failed.map((o) => `${o.name}: ${o.detail}`).join('\n')).toEqual([]);
  }, 120_000);

  it('fails a kernel it lacks with tfjs\'s error naming it (no CPU fallback unless asked for)', async () => {
    await tf.setBackend(CUDA_BACKEND);
    const x = tf.ones([1, 4, 4, 1]), w = tf.ones([2, 2, 1, 1]);
    expect(() => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same')).toThrow(/Conv2D.*alto-cuda/);
    tf.dispose([x, w]);
  });

  it('frees device memory when tensors are disposed, and reports it', async () => {
    await tf.setBackend(CUDA_BACKEND);
    const inGpu = () => (tf.memory() as unknown as { numBytesInGPU: number }).numBytesInGPU;
    const before = inGpu();
    const x = tf.ones([1024, 1024]);
    expect(inGpu() - before).toBeGreaterThanOrEqual(4 * 1024 * 1024);
    x.dispose();
    expect(inGpu()).toBe(before);
  });
});
