import { describe, expect, it } from 'vitest';
import type { CudaEngine } from '@alto/kernels';
import { CudaBackend } from './backend.js';
import { resolveCudaOptions } from './options.js';

/**
 * The backend's bookkeeping of the bf16 copy a kernel writes along with its output (RMSNorm,
 * SwiGLU) for the products that read that output next: which tensor it belongs to, when it is
 * stale, when its memory goes back. An engine that only allocates, in host memory; the device
 * side (the copy's values, and products taking it) is checked on the GPU machine
 * (bench/tfjs-cuda, bf16 precision).
 */
class AllocatingEngine {
  readonly live = new Map<number, number>();
  private next = 256;
  alloc(bytes: number): number {
    const ptr = this.next;
    this.next += bytes + 256;
    this.live.set(ptr, bytes);
    return ptr;
  }
  free(ptr: number): void {
    if (!this.live.delete(ptr)) throw new Error(`free of ${ptr}, not allocated`);
  }
  upload(): void {}
}

function setup(matmulPrecision: 'bf16' | 'tf32') {
  const engine = new AllocatingEngine();
  const backend = new CudaBackend(engine as unknown as CudaEngine, resolveCudaOptions({ matmulPrecision }));
  const tensor = (size: number, dtype: 'float32' | 'int32' = 'float32') => backend.makeOutput([size], dtype);
  return { engine, backend, tensor };
}

describe('bf16 copies written with a kernel output', () => {
  it('belong to the tensor they were made for, at half its bytes, and only while its data is unwritten', () => {
    const { engine, backend, tensor } = setup('bf16');
    const y = tensor(1000), other = tensor(1000);
    const ptr = backend.bf16CopyTarget(y);
    expect(ptr).toBeGreaterThan(0);
    expect(engine.live.get(ptr)).toBe(2000);
    expect(backend.bf16CopyOf(y)).toBe(ptr);
    expect(backend.bf16CopyOf({ ...y })).toBe(ptr);  // a view (reshape) shares the data id
    expect(backend.bf16CopyOf(other)).toBe(0);
    backend.writtenInPlace(y.dataId);
    expect(backend.bf16CopyOf(y)).toBe(0);
  });

  it('are one at a time: a new copy frees the last, and a copy goes with its data', () => {
    const { engine, backend, tensor } = setup('bf16');
    const a = tensor(64), b = tensor(128);
    const first = backend.bf16CopyTarget(a);
    const second = backend.bf16CopyTarget(b);
    expect(engine.live.has(first)).toBe(false);
    expect(backend.bf16CopyOf(a)).toBe(0);
    expect(backend.bf16CopyOf(b)).toBe(second);
    backend.incRef(b.dataId);
    backend.disposeData(b.dataId);  // still held by the second reference
    expect(backend.bf16CopyOf(b)).toBe(second);
    backend.disposeData(b.dataId);
    expect(engine.live.has(second)).toBe(false);
    expect(backend.bf16CopyOf(b)).toBe(0);
    expect([...engine.live.keys()]).toEqual([backend.data.get(a.dataId).ptr]);
  });

  it('are not made under other precisions, nor for int32 or empty tensors', () => {
    const tf32 = setup('tf32');
    const y = tf32.tensor(100);
    expect(tf32.backend.bf16CopyTarget(y)).toBe(0);
    expect(tf32.engine.live.size).toBe(1);
    const bf16 = setup('bf16');
    const kept = bf16.backend.bf16CopyTarget(bf16.tensor(10));
    expect(bf16.backend.bf16CopyTarget(bf16.tensor(10, 'int32'))).toBe(0);
    expect(bf16.backend.bf16CopyTarget(bf16.tensor(0))).toBe(0);
    expect(bf16.engine.live.has(kept)).toBe(false);  // asking for one drops the held copy all the same
  });

  it('are freed with the backend', () => {
    const { engine, backend, tensor } = setup('bf16');
    const ptr = backend.bf16CopyTarget(tensor(32));
    (engine as unknown as { sync(): void; destroy(): void }).sync = () => {};
    (engine as unknown as { sync(): void; destroy(): void }).destroy = () => {};
    backend.dispose();
    expect(engine.live.has(ptr)).toBe(false);
  });
});
