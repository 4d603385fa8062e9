import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { hostGroupedLoraBackward, hostGroupedLoraForward, Rng, type SegmentPlan } from '@alto/core';
import { relErr } from '../test-support/fixtures.js';
import { GROUPED_LORA_REFERENCE, GROUPED_LORA_REFERENCE_GRAD } from '../kernels/grouped-lora-reference.js';
import { groupedLoraLinear, GroupedLoraProvider, REFERENCE_PROVIDER } from './grouped-lora.js';
import { linear, withLoraScope, type LoraScope } from '../lora-scope.js';

// A provider that adds the base's gradient, on the cpu backend: the reference kernels, with a
// backward that takes dxBase last and adds it to the reference's dX. Records the inputs each
// backward call got, so a test can tell whether dxBase came.
const backwardInputCounts: number[] = [];
const ADDS_BASE = 'TestGroupedLoraGradAddsBase';
tf.registerKernel({
  kernelName: ADDS_BASE,
  backendName: 'cpu',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const n = Object.keys(inputs).length;
    backwardInputCounts.push(n);
    const K = (attrs as unknown as { ranks: number[] }).ranks.length;
    if (n !== 3 + 2 * K) return tf.getKernel(GROUPED_LORA_REFERENCE_GRAD, 'cpu')!.kernelFunc({ inputs, backend, attrs });
    const rest = Object.fromEntries(Object.entries(inputs).filter(([k]) => k !== String(n - 1)));
    const [dX, ...dW] = tf.getKernel(GROUPED_LORA_REFERENCE_GRAD, 'cpu')!.kernelFunc({ inputs: rest, backend, attrs }) as tf.TensorInfo[];
    const sum = tf.getKernel('Add', 'cpu')!.kernelFunc({ inputs: { a: dX, b: inputs[String(n - 1)] }, backend, attrs: {} }) as tf.TensorInfo;
    (backend as tf.KernelBackend).disposeData(dX.dataId);
    return [sum, ...dW];
  },
});
const ADDS_BASE_PROVIDER: GroupedLoraProvider = { ...REFERENCE_PROVIDER, forward: GROUPED_LORA_REFERENCE, backward: ADDS_BASE, addsBaseGradient: true };

// A provider with linear kernels, on the cpu backend: x·W (dy·Wᵀ) and the reference kernels in
// one kernel each way, as the CUDA ones are; S is returned as zeros (the reference backward does
// not read it). Records the calls.
const linearCalls: string[] = [];
const cpuKernel = (name: string, inputs: tf.NamedTensorInfoMap, backend: unknown, attrs: object = {}) =>
  tf.getKernel(name, 'cpu')!.kernelFunc({ inputs, backend: backend as tf.KernelBackend, attrs: attrs as tf.NamedAttrMap });
tf.registerKernel({
  kernelName: 'TestGroupedLoraLinear',
  backendName: 'cpu',
  kernelFunc: ({ inputs, backend, attrs }) => {
    linearCalls.push('forward');
    const { ranks } = attrs as unknown as { ranks: number[] };
    const base = cpuKernel('BatchMatMul', { a: inputs['0'], b: inputs['1'] }, backend, { transposeA: false, transposeB: false }) as tf.TensorInfo;
    const y = cpuKernel(GROUPED_LORA_REFERENCE, { ...inputs, '1': base }, backend, attrs) as tf.TensorInfo;
    const S = cpuKernel('Fill', {}, backend, { shape: [inputs['0']!.shape[0], Math.max(...ranks)], value: 0, dtype: 'float32' }) as tf.TensorInfo;
    (backend as tf.KernelBackend).disposeData(base.dataId);
    return [y, S];
  },
});
tf.registerKernel({
  kernelName: 'TestGroupedLoraLinearGrad',
  backendName: 'cpu',
  kernelFunc: ({ inputs, backend, attrs }) => {
    linearCalls.push('backward');
    const K = (attrs as unknown as { ranks: number[] }).ranks.length;
    const rest = Object.fromEntries(Array.from({ length: 2 * K }, (_, j) => [String(2 + j), inputs[String(3 + j)]]));
    const [dX, ...dW] = cpuKernel(GROUPED_LORA_REFERENCE_GRAD, { '0': inputs['0'], '1': inputs['1'], ...rest }, backend, attrs) as tf.TensorInfo[];
    const dxBase = cpuKernel('BatchMatMul', { a: inputs['1'], b: inputs['2'] }, backend, { transposeA: false, transposeB: true }) as tf.TensorInfo;
    const sum = cpuKernel('Add', { a: dX, b: dxBase }, backend) as tf.TensorInfo;
    (backend as tf.KernelBackend).disposeData(dX.dataId);
    (backend as tf.KernelBackend).disposeData(dxBase.dataId);
    return [sum, ...dW];
  },
});
const LINEAR_PROVIDER: GroupedLoraProvider = { ...REFERENCE_PROVIDER, linear: { forward: 'TestGroupedLoraLinear', backward: 'TestGroupedLoraLinearGrad' } };

describe('groupedLoraLinear', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  // 3 rows of a0, 4 of nobody, 5 of a1; a2 owns none
  const adapters = [3, 5, 2].map((rank, i) => ({ name: `a${i}`, rank, scale: 1.5 + i }));
  const plan: SegmentPlan = { totalRows: 12, segmentOffsets: Int32Array.from([0, 3, 7, 12]), segmentAdapter: Int32Array.from([0, -1, 1]), adapters, maxRank: 5 };
  const [T, dIn, dOut] = [plan.totalRows, 9, 6];
  const rng = new Rng(21);
  const rand = (n: number) => Float64Array.from({ length: n }, () => rng.uniform(-1, 1));
  const x = rand(T * dIn), W = rand(dIn * dOut), dy = rand(T * dOut);
  const A = plan.adapters.map((a) => rand(dIn * a.rank)), B = plan.adapters.map((a) => rand(a.rank * dOut));
  const t2 = (d: Float64Array, shape: [number, number]) => tf.tensor2d(Float32Array.from(d), shape);
  const weights = () => ({ A: A.map((a, i) => t2(a, [dIn, plan.adapters[i].rank])), B: B.map((b, i) => t2(b, [plan.adapters[i].rank, dOut])) });

  // float64: y = x·W + LoRA; dX = dy·Wᵀ + the LoRA's dX; dW = xᵀ·dy
  const base = new Float64Array(T * dOut), dxBase = new Float64Array(T * dIn), dW = new Float64Array(dIn * dOut);
  for (let r = 0; r < T; r++) {
    for (let i = 0; i < dIn; i++) {
      for (let o = 0; o < dOut; o++) {
        base[r * dOut + o] += x[r * dIn + i] * W[i * dOut + o];
        dxBase[r * dIn + i] += dy[r * dOut + o] * W[i * dOut + o];
        dW[i * dOut + o] += x[r * dIn + i] * dy[r * dOut + o];
      }
    }
  }
  const y = Float64Array.from(base);
  hostGroupedLoraForward({ plan, dIn, dOut, x, A, B }, y);
  const lora = hostGroupedLoraBackward({ plan, dIn, dOut, x, A, B }, dy);
  const dX = lora.dX.map((v, i) => v + dxBase[i]);

  /** groupedLoraLinear's y and the gradients of x, A and B on `provider`, against float64; `calls` read after the gradients. */
  function expectFloat64Values(provider: GroupedLoraProvider, calls: () => unknown[], expectedCalls: unknown[]): void {
    const { A: At, B: Bt } = weights();
    const xt = t2(x, [T, dIn]), Wt = t2(W, [dIn, dOut]), dyt = t2(dy, [T, dOut]);
    const before = tf.memory().numTensors;
    const out = groupedLoraLinear(xt, Wt, At, Bt, plan, provider);
    expect(relErr(out.dataSync(), y)).toBeLessThan(1e-5);
    out.dispose();
    const grads = tf.grads((xx: tf.Tensor, ...w: tf.Tensor[]) => groupedLoraLinear(xx as tf.Tensor2D, Wt, w.slice(0, 3) as tf.Tensor2D[], w.slice(3) as tf.Tensor2D[], plan, provider))(
      [xt, ...At, ...Bt],
      dyt,
    );
    expect(calls()).toEqual(expectedCalls);
    expect(relErr(grads[0].dataSync(), dX)).toBeLessThan(1e-5);
    for (let i = 0; i < 3; i++) {
      expect(relErr(grads[1 + i].dataSync(), lora.dA[i]), `dA${i}`).toBeLessThan(1e-5);
      expect(relErr(grads[4 + i].dataSync(), lora.dB[i]), `dB${i}`).toBeLessThan(1e-5);
    }
    tf.dispose(grads);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([xt, Wt, dyt, ...At, ...Bt]);
  }

  it('on a provider that adds the base gradient: the base dX goes to the backward kernel, and y and the gradients of x, A and B match float64', () => {
    backwardInputCounts.length = 0;
    expectFloat64Values(ADDS_BASE_PROVIDER, () => backwardInputCounts, [2 + 2 * 3 + 1]);
  });

  it('on a provider with linear kernels: x·W and the LoRA in one kernel each way, W handed to both; y and the gradients match float64', () => {
    linearCalls.length = 0;
    expectFloat64Values(LINEAR_PROVIDER, () => linearCalls, ['forward', 'forward', 'backward']);
    const { A: At, B: Bt } = weights();
    const xt = t2(x, [T, dIn]), Wt = t2(W, [dIn, dOut]), dyt = t2(dy, [T, dOut]);
    // A W that is not kept alive by the caller (not a variable) is saved for the backward.
    linearCalls.length = 0;
    const g = tf.grad((xx: tf.Tensor) => tf.tidy(() => groupedLoraLinear(xx as tf.Tensor2D, tf.add(Wt, 0) as tf.Tensor2D, At, Bt, plan, LINEAR_PROVIDER)))(xt, dyt);
    expect(linearCalls).toEqual(['forward', 'backward']);
    expect(relErr(g.dataSync(), dX)).toBeLessThan(1e-5);
    tf.dispose([g, xt, Wt, dyt, ...At, ...Bt]);
  });

  it('a trainable variable W takes the plain path and gets its gradient', () => {
    const { A: At, B: Bt } = weights();
    const xt = t2(x, [T, dIn]), Wv = tf.variable(t2(W, [dIn, dOut])), dyt = t2(dy, [T, dOut]);
    backwardInputCounts.length = 0;
    const g = tf.grads((xx: tf.Tensor, ww: tf.Tensor) => groupedLoraLinear(xx as tf.Tensor2D, ww as tf.Tensor2D, At, Bt, plan, ADDS_BASE_PROVIDER))([xt, Wv], dyt);
    expect(backwardInputCounts).toEqual([2 + 2 * 3]);
    expect(relErr(g[0].dataSync(), dX)).toBeLessThan(1e-5);
    expect(relErr(g[1].dataSync(), dW)).toBeLessThan(1e-5);
    tf.dispose([...g, xt, Wv, dyt, ...At, ...Bt]);
  });

  it("linear() in a scope: the fused op without bias, base then LoRA with one; the same values", () => {
    const { A: At, B: Bt } = weights();
    const scope: LoraScope = { layer: () => ({ plan, A: At, B: Bt, provider: ADDS_BASE_PROVIDER }) };
    const xt = t2(x, [T, dIn]), Wt = t2(W, [dIn, dOut]), dyt = t2(dy, [T, dOut]), bias = tf.zeros([dOut]);
    backwardInputCounts.length = 0;
    const fused = tf.grad((xx: tf.Tensor) => withLoraScope(scope, () => linear('p', xx, Wt)))(xt, dyt);
    const plain = tf.grad((xx: tf.Tensor) => withLoraScope(scope, () => linear('p', xx, Wt, bias)))(xt, dyt);
    expect(backwardInputCounts).toEqual([2 + 2 * 3 + 1, 2 + 2 * 3]);
    expect(relErr(fused.dataSync(), dX)).toBeLessThan(1e-5);
    expect(relErr(plain.dataSync(), dX)).toBeLessThan(1e-5);
    tf.dispose([fused, plain, xt, Wt, dyt, bias, ...At, ...Bt]);
  });

  it('rejects a W whose rows are not d_in', () => {
    const { A: At, B: Bt } = weights();
    expect(() => groupedLoraLinear(tf.zeros([T, dIn]) as tf.Tensor2D, tf.zeros([dIn + 1, dOut]) as tf.Tensor2D, At, Bt, plan, ADDS_BASE_PROVIDER)).toThrow(/W must be \[9, d_out\]/);
    tf.dispose([...At, ...Bt]);
  });
});
