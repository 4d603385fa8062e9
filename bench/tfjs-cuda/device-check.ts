/**
 * The CUDA backend's op checks (test/tfjs-cuda/cases.ts) as one program for the GPU machine,
 * which has no node_modules: bundled by bundle.mjs, run by device-run.sh.
 *   node device-check.mjs OUT.json
 */
import { writeFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { cpuFallbackKernels, CUDA_BACKEND, registerCudaBackend } from '@alto/tfjs-backend-cuda';
import { CUDA_PROVIDER, linear, rmsNorm, seededUniform, swiglu, tfjsKernels, withLoraScope } from '@alto/tfjs';
import { Rng } from '@alto/core';
import { runCases, type Outcome } from '../../test/tfjs-cuda/cases.js';

// The CPU fallback is on, so that one case below can use it; the check at the end proves that
// no other case did.
// ALTO_MATMUL_PRECISION=tf32|bf16 runs only the matmul precision check, with that option.
const precision = (process.env.ALTO_MATMUL_PRECISION ?? 'fp32') as 'fp32' | 'tf32' | 'bf16';
const registration = registerCudaBackend({ cpuFallback: precision === 'fp32', matmulPrecision: precision });
if (!registration.ok) {
  console.error(`CUDA backend unavailable: ${registration.reason}`);
  process.exit(2);
}
if (precision !== 'fp32') {
  // Each element's error over Σ|a·b| of its row and column, against float64 products. bf16:
  // the result must be the product of the inputs rounded to bf16 (to nearest even, as the
  // engine rounds them) to within fp32 summation (1e-5). TF32 (rounded inside cuBLAS): within
  // 2·2⁻¹¹ of the exact product. Both must be farther than 1e-6 from the exact product, which
  // fp32 products stay within: the option took effect. Plain, transposed and batched products.
  const toBf16 = (v: Float32Array) => {
    const bits = new Uint32Array(v.buffer.slice(0));
    for (let i = 0; i < bits.length; ++i) bits[i] = ((bits[i] + 0x7fff + ((bits[i] >>> 16) & 1)) & 0xffff0000) >>> 0;
    return new Float32Array(bits.buffer);
  };
  const values = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(seed * 7.1 + i * 0.37) * (1 + (i % 5)));
  // Operands as given to tf.matMul, with its transposes.
  const shapes: { a: number[]; b: number[]; ta: boolean; tb: boolean }[] = [
    { a: [256, 512], b: [512, 384], ta: false, tb: false },
    { a: [512, 256], b: [384, 512], ta: true, tb: true },
    { a: [4, 200, 96], b: [4, 200, 72], ta: true, tb: false },
  ];
  await tf.setBackend(CUDA_BACKEND);
  const results = shapes.map(({ a, b, ta, tb }, idx) => {
    const av = values(a.reduce((x, y) => x * y), 2 * idx + 1), bv = values(b.reduce((x, y) => x * y), 2 * idx + 2);
    const at = tf.tensor(av, a), bt = tf.tensor(bv, b);
    const got = tf.matMul(at, bt, ta, tb).dataSync();
    tf.dispose([at, bt]);
    const batch = a.length === 3 ? a[0] : 1, ar = a.slice(-2), br = b.slice(-2);
    const m = ta ? ar[1] : ar[0], k = ta ? ar[0] : ar[1], n = tb ? br[0] : br[1];
    const a16 = toBf16(av), b16 = toBf16(bv);
    const at_ = (p: number, i: number, q: number) => p * ar[0] * ar[1] + (ta ? q * ar[1] + i : i * ar[1] + q);
    const bt_ = (p: number, q: number, j: number) => p * br[0] * br[1] + (tb ? j * br[1] + q : q * br[1] + j);
    let fromExact = 0, fromRounded = 0;
    for (let p = 0; p < batch; ++p) for (let i = 0; i < m; ++i) for (let j = 0; j < n; ++j) {
      let exact = 0, rounded = 0, scale = 0;
      for (let q = 0; q < k; ++q) {
        const ia = at_(p, i, q), ib = bt_(p, q, j), x = av[ia] * bv[ib];
        exact += x;
        rounded += a16[ia] * b16[ib];
        scale += Math.abs(x);
      }
      const v = got[(p * m + i) * n + j];
      fromExact = Math.max(fromExact, Math.abs(v - exact) / scale);
      fromRounded = Math.max(fromRounded, Math.abs(v - rounded) / scale);
    }
    const bound = 2 * 2 ** -11;
    const ok = fromExact > 1e-6 && (precision === 'bf16' ? fromRounded <= 1e-5 : fromExact <= bound);
    const what = precision === 'bf16' ? `from the product of bf16-rounded inputs ${fromRounded.toExponential(2)} (≤ 1e-5)` : `from the exact product ${fromExact.toExponential(2)} (≤ ${bound.toExponential(2)})`;
    return { name: `matmul with ${precision} inputs, [${a}]${ta ? 'ᵀ' : ''}·[${b}]${tb ? 'ᵀ' : ''}: largest error / Σ|a·b| ${what}; from the exact product ${fromExact.toExponential(2)} (> 1e-6)`, ok, detail: `exact ${fromExact}, bf16-rounded ${fromRounded}` };
  });
  if (precision === 'bf16') results.push(...bf16CopyChecks(values));
  for (const o of results) console.log(`${o.ok ? 'ok  ' : 'FAIL'} ${o.name}`);
  if (process.argv[2]) writeFileSync(process.argv[2], JSON.stringify({ backend: CUDA_BACKEND, precision, date: new Date().toISOString(), outcomes: results }, null, 1));
  process.exit(results.every((o) => o.ok) ? 0 : 1);
}
const outcomes: Outcome[] = [];
// ALTO's grouped LoRA must run on the device kernels there, not on a tfjs fallback.
const chosen = tfjsKernels.resolve('groupedLora', CUDA_BACKEND).impl;
outcomes.push({ name: 'grouped LoRA on alto-cuda uses the CUDA kernels', ok: chosen === CUDA_PROVIDER, detail: `resolved ${chosen.forward}` });
outcomes.push(...(await runCases(CUDA_BACKEND)));

// A kernel without a CUDA implementation (Conv2D) runs on the CPU fallback and matches cpu.
const conv = (backend: string) => {
  tf.setBackend(backend);
  const x = tf.tensor4d(Array.from({ length: 2 * 5 * 5 * 3 }, (_, i) => Math.sin(i)), [2, 5, 5, 3]);
  const w = tf.tensor4d(Array.from({ length: 3 * 3 * 3 * 4 }, (_, i) => Math.cos(i)), [3, 3, 3, 4]);
  const y = tf.conv2d(x, w, 1, 'same');
  const values = Array.from(y.dataSync());
  tf.dispose([x, w, y]);
  return values;
};
const convCpu = conv('cpu'), convCuda = conv(CUDA_BACKEND);
const convDiff = Math.max(...convCpu.map((v, i) => Math.abs(v - convCuda[i])));
outcomes.push({ name: 'a kernel without a CUDA implementation (Conv2D) runs on the CPU fallback', ok: convDiff < 1e-5, detail: `max difference ${convDiff}` });
const fallbacks = cpuFallbackKernels();
outcomes.push({ name: 'no other case ran on the CPU fallback', ok: fallbacks.join() === 'Conv2D', detail: `ran on the CPU: ${fallbacks.join(', ')}` });

// Device memory: a 4 MiB tensor shows in tf.memory() and is given back on dispose.
await tf.setBackend(CUDA_BACKEND);
const inGpu = () => (tf.memory() as unknown as { numBytesInGPU: number }).numBytesInGPU;
const before = inGpu();
const x = tf.ones([1024, 1024]);
const held = inGpu() - before;
x.dispose();
const after = inGpu();
outcomes.push({ name: 'device memory tracked and freed', ok: held >= 4 << 20 && after === before, detail: `held ${held} B, ${after - before} B left after dispose` });
// The peak since a reset counts a tensor freed since; the capacity is the device's, at most.
{
  const m = () => tf.memory() as unknown as { numBytesInGPU: number; numBytesInGPUPeak: number; numBytesDeviceCapacity?: number };
  (tf.backend() as unknown as { resetPeakMemory(): void }).resetPeakMemory();
  const start = m().numBytesInGPU;
  const y = tf.ones([2048, 1024]);
  y.dispose();
  const peak = m().numBytesInGPUPeak - start, capacity = m().numBytesDeviceCapacity ?? 0;
  outcomes.push({ name: 'peak device memory since a reset, and the capacity this process can hold', ok: peak >= 8 << 20 && peak < 16 << 20 && capacity > 1 << 30 && capacity < 2 ** 40, detail: `peak ${peak} B over the start, capacity ${capacity} B` });
}

// Large tensors in memory mapped in chunks (the default where the device allows it): a freed
// one's chunks stay held until the cache is given back, then go back to the device.
{
  const engine = (tf.backend() as unknown as { cuda: { memory(): { reserved: number; paged: boolean } } }).cuda;
  const release = () => (tf.backend() as unknown as { releaseCachedMemory(): void }).releaseCachedMemory();
  release();
  const base = engine.memory().reserved;
  const z = tf.zeros([64 << 20]); // 256 MiB
  const held = engine.memory().reserved - base;
  z.dispose();
  const cached = engine.memory().reserved - base;
  release();
  const left = engine.memory().reserved - base;
  outcomes.push({
    name: 'large tensors in paged memory: a freed one stays cached, then its chunks go back to the device',
    ok: engine.memory().paged && (tf.memory() as unknown as { pagedMemory?: boolean }).pagedMemory === true && held >= 256 << 20 && cached === held && left <= 0,
    detail: `paged ${engine.memory().paged} (tf.memory(): ${(tf.memory() as unknown as { pagedMemory?: boolean }).pagedMemory}), held ${held} B, cached after dispose ${cached} B, ${left} B left after release`,
  });
}

// Adapter init drawn on the device: bit for bit the host generator's values, state advanced alike.
{
  const shape = [1009, 991], n = 1009 * 991, seed = 0x9e3779b9;
  const onDevice = new Rng(seed), onHost = new Rng(seed);
  const t = seededUniform(onDevice, shape, -0.03, 0.03);
  const got = t.dataSync() as Float32Array;
  t.dispose();
  const want = onHost.fillUniform(new Float32Array(n), -0.03, 0.03);
  let differ = 0;
  for (let i = 0; i < n; i++) if (got[i] !== want[i]) differ++;
  const next = onDevice.next() === onHost.next() && got.length === n;
  outcomes.push({ name: 'seeded uniform fill on the device equals the host generator bit for bit', ok: differ === 0 && next && got.length === n, detail: `${differ} of ${n} values differ; state after ${next ? 'equal' : 'different'}` });
}

// Asynchronous reads: values as they were when the read began, though the tensor is disposed at
// once and its memory taken by new data; many at a time, each several pinned pieces long.
{
  const n = 10_000_019;  // 40 MB: two full 16 MiB pieces and a tail
  const source = Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.001) * 100);
  const base = tf.tensor1d(source);
  const tensors = Array.from({ length: 6 }, (_, k) => tf.mul(base, k + 1));
  const reads = tensors.map((t) => t.data() as Promise<Float32Array>);
  tf.dispose([base, ...tensors]);
  const overwrite = Array.from({ length: 6 }, () => tf.fill([n], -1));
  const got = await Promise.all(reads);
  tf.dispose(overwrite);
  let differ = 0;
  got.forEach((values, k) => {
    for (let i = 0; i < n; i++) if (values[i] !== Math.fround(source[i] * (k + 1))) differ++;
  });
  outcomes.push({ name: 'asynchronous reads give the values at the read, the tensors disposed and their memory reused meanwhile', ok: differ === 0 && got.every((v) => v.length === n), detail: `${differ} of ${6 * n} values differ` });
}

// The profiler's kernel times are stream time between marks: a 4096³ product (137 GFLOP) takes
// at least its time at 2 PFLOP/s and shows in the sum; a reshape (no device work) almost nothing.
{
  const a = tf.ones([4096, 4096]), b = tf.ones([4096, 4096]);
  tf.matMul(a, b).dispose(); // cuBLAS loaded, outside the profile
  const info = await tf.profile(() => {
    const c = tf.matMul(a, b);
    const r = tf.reshape(c, [4096 * 4096]);
    return [c, r];
  });
  tf.dispose([a, b, ...(info.result as tf.Tensor[])]);
  const ms = (name: string) => info.kernels.filter((k) => k.name === name).reduce((t, k) => t + (k.kernelTimeMs as number), 0);
  const matmul = ms('BatchMatMul'), reshape = ms('Reshape');
  outcomes.push({ name: 'kernel times from marks on the stream: a large product timed, a reshape near zero', ok: matmul > 0.068 && matmul < 1000 && reshape >= 0 && reshape < 0.05,
    detail: `BatchMatMul ${matmul} ms, Reshape ${reshape} ms` });
}

// Out of memory (last: it fills the device): 4 GiB tensors until one does not fit give a clear
// error naming it, the tensors made before keep their values, and once they are freed the same
// size fits again.
{
  const big: tf.Tensor[] = [];
  let error = '';
  for (let i = 0; i < 64 && !error; i++) {
    try {
      big.push(tf.fill([1 << 30], i + 1));
    } catch (e) {
      error = (e as Error).message.split('\n')[0];
    }
  }
  const at = (t: tf.Tensor, i: number) => tf.tidy(() => tf.slice(t, [i], [1]).dataSync()[0]);
  const first = big.length > 0 && at(big[0], 0) === 1 && at(big[big.length - 1], (1 << 30) - 1) === big.length;
  const filled = big.length;
  tf.dispose(big);
  let again = false;
  try {
    const t = tf.fill([1 << 30], 7);
    again = at(t, 0) === 7;
    t.dispose();
  } catch {
    again = false;
  }
  outcomes.push({
    name: 'out of memory: a clear error once the device is full, the tensors before it intact, the same size fitting again once they are freed',
    ok: /out of memory/.test(error) && filled >= 8 && first && again,
    detail: `${filled} tensors of 4 GiB, then: ${error || 'no error'}; values ${first ? 'intact' : 'wrong'}; again ${again}`,
  });
}

for (const o of outcomes) console.log(`${o.ok ? 'ok  ' : 'FAIL'} ${o.name}${o.ok ? '' : `: ${o.detail}`}`);
const passed = outcomes.filter((o) => o.ok).length;
if (process.argv[2]) writeFileSync(process.argv[2], JSON.stringify({ backend: CUDA_BACKEND, date: new Date().toISOString(), outcomes }, null, 1));
console.log(`${passed} passed, ${outcomes.length - passed} failed`);
process.exit(passed === outcomes.length ? 0 : 1);

/**
 * Products reading an RMSNorm or SwiGLU output take the bf16 copy that kernel wrote along with
 * it: the copy is held (one at a time), and each product equals the same product of a fresh
 * copy of its input, which the matmul rounds itself — bit for bit for tf.matMul, within 1e-5 of
 * the RMS for linear() under a LoRA scope (its LoRA part reduces in no fixed order).
 */
function bf16CopyChecks(values: (n: number, seed: number) => Float32Array): { name: string; ok: boolean; detail: string }[] {
  const copyOf = (t: tf.Tensor) => (tf.backend() as unknown as { bf16CopyOf(t: tf.Tensor): number }).bf16CopyOf(t);
  const m = (shape: number[], seed: number, scale = 1) => tf.mul(tf.tensor(values(shape.reduce((a, b) => a * b, 1), seed), shape), scale);
  const x = m([96, 256], 31), g = m([256], 32, 0.5), W = m([256, 192], 33), gate = m([96, 512], 34), up = m([96, 512], 35), Wd = m([512, 80], 36);
  const a = { name: 'a', rank: 8, scale: 2 }, b = { name: 'b', rank: 3, scale: 0.5 };
  const plan = { totalRows: 96, segmentOffsets: Int32Array.from([0, 40, 50, 96]), segmentAdapter: Int32Array.from([0, -1, 1]), adapters: [a, b], maxRank: 8 };
  const A = [m([256, 8], 37, 0.1), m([256, 3], 38, 0.1)] as tf.Tensor2D[], B = [m([8, 192], 39, 0.1), m([3, 192], 40, 0.1)] as tf.Tensor2D[];
  const lora = (input: tf.Tensor) => withLoraScope({ layer: () => ({ plan, A, B }) }, () => linear('p', input, W));
  const y = rmsNorm(x, g, 1e-5);
  const heldNorm = copyOf(y) !== 0;
  const normViaCopy = [tf.matMul(y, W), lora(y)];
  const freshY = tf.mul(y, 1);
  const normPlain = [tf.matMul(freshY, W), lora(freshY)];
  const s = swiglu(gate, up);
  const heldSwiglu = copyOf(s) !== 0 && copyOf(y) === 0;
  const swigluViaCopy = tf.matMul(s, Wd), swigluPlain = tf.matMul(tf.mul(s, 1), Wd);
  const bits = (t: tf.Tensor) => new Uint32Array((t.dataSync() as Float32Array).slice().buffer);
  const sameBits = (p: tf.Tensor, q: tf.Tensor) => bits(p).every((v, i) => v === bits(q)[i]);
  const rel = (p: tf.Tensor, q: tf.Tensor) => {
    const pv = Array.from(p.dataSync()), qv = Array.from(q.dataSync());
    const rms = Math.sqrt(qv.reduce((acc, v) => acc + v * v, 0) / qv.length);
    return pv.reduce((worst, v, i) => Math.max(worst, Math.abs(v - qv[i])), 0) / rms;
  };
  const linearDiff = rel(normViaCopy[1], normPlain[1]);
  const out = [
    { name: 'bf16 copies: RMSNorm and SwiGLU write one along with their output, held one at a time', ok: heldNorm && heldSwiglu, detail: `norm ${heldNorm}, swiglu ${heldSwiglu}` },
    { name: 'bf16 copies: a product of an RMSNorm output equals, bit for bit, the product of a fresh copy of it', ok: sameBits(normViaCopy[0], normPlain[0]), detail: '' },
    { name: 'bf16 copies: a product of a SwiGLU output equals, bit for bit, the product of a fresh copy of it', ok: sameBits(swigluViaCopy, swigluPlain), detail: '' },
    { name: `bf16 copies: linear() under a LoRA scope on an RMSNorm output, against a fresh copy: ${linearDiff.toExponential(2)} of the RMS (≤ 1e-5)`, ok: linearDiff <= 1e-5, detail: String(linearDiff) },
  ];
  tf.dispose([x, g, W, gate, up, Wd, ...A, ...B, y, freshY, s, swigluViaCopy, swigluPlain, ...normViaCopy, ...normPlain]);
  return out;
}
