import { describe, expect, it } from 'vitest';
import type { CudaEngine } from '@alto/kernels';
import { CudaBackend } from './backend.js';
import { resolveCudaOptions } from './options.js';

/**
 * The engine's transfer contract in host memory (native.ts): `downloadAsync` takes the bytes
 * when called and fills the host array later; `download` copies at once. What is checked here
 * is the backend's bookkeeping around reads; the device side runs in the tfjs op check on the
 * GPU machine (bench/tfjs-cuda).
 */
class HostMemoryEngine {
  readonly memory = new Map<number, Uint8Array>();
  private next = 256;
  asyncReads = 0;
  syncReads = 0;
  failAsync = false;
  alloc(bytes: number): number {
    const ptr = this.next;
    this.next += bytes + 256;
    this.memory.set(ptr, new Uint8Array(bytes));
    return ptr;
  }
  free(ptr: number): void {
    this.memory.delete(ptr);
  }
  upload(ptr: number, host: ArrayBufferView): void {
    this.memory.get(ptr)!.set(new Uint8Array(host.buffer, host.byteOffset, host.byteLength));
  }
  download(ptr: number, host: ArrayBufferView): void {
    this.syncReads++;
    new Uint8Array(host.buffer, host.byteOffset, host.byteLength).set(this.memory.get(ptr)!);
  }
  downloadAsync(ptr: number, host: ArrayBufferView): Promise<void> {
    if (this.failAsync) throw new Error('downloadAsync: CUDA error (out of memory)');
    this.asyncReads++;
    const taken = this.memory.get(ptr)!.slice();
    return new Promise((resolve) => setTimeout(() => {
      new Uint8Array(host.buffer, host.byteOffset, host.byteLength).set(taken);
      resolve();
    }, 5));
  }
  /** A kernel writing the tensor's device data in place. */
  overwrite(ptr: number, values: Float32Array): void {
    this.memory.get(ptr)!.set(new Uint8Array(values.buffer));
  }
}

// Above the size whose host values an upload keeps, so reads go to the (host-memory) device.
const N = 70_000;
const values = (k: number) => Float32Array.from({ length: N }, (_, i) => i * 0.5 + k);

function setup() {
  const engine = new HostMemoryEngine();
  const backend = new CudaBackend(engine as unknown as CudaEngine, resolveCudaOptions());
  const id = backend.write(values(1), [N], 'float32');
  return { engine, backend, id, ptr: backend.data.get(id).ptr };
}

describe('CUDA backend reads', () => {
  it('give the values at the read though the data is written in place before they arrive, and do not keep those as current', async () => {
    const { engine, backend, id, ptr } = setup();
    const reading = backend.read(id);
    engine.overwrite(ptr, values(2));
    backend.writtenInPlace(id);
    expect(Array.from(((await reading) as Float32Array).subarray(0, 3))).toEqual([1, 1.5, 2]);
    // the newer values are read again from the device
    expect(Array.from(((await backend.read(id)) as Float32Array).subarray(0, 3))).toEqual([2, 2.5, 3]);
    expect(engine.asyncReads).toBe(2);
  });

  it('share one transfer between reads in flight, and keep the values once they arrived', async () => {
    const { engine, backend, id } = setup();
    const [a, b] = await Promise.all([backend.read(id), backend.read(id)]);
    expect(a).toBe(b);
    await backend.read(id);
    expect(backend.readSync(id)).toBe(a);
    expect(engine.asyncReads).toBe(1);
    expect(engine.syncReads).toBe(0);
  });

  it('read at once where the asynchronous read cannot begin', async () => {
    const { engine, backend, id } = setup();
    engine.failAsync = true;
    expect(((await backend.read(id)) as Float32Array)[N - 1]).toBe((N - 1) * 0.5 + 1);
    expect(engine.syncReads).toBe(1);
  });

  it('end with the values when the tensor is disposed meanwhile, its device memory freed at once', async () => {
    const { engine, backend, id, ptr } = setup();
    const reading = backend.read(id);
    expect(backend.disposeData(id)).toBe(true);
    expect(engine.memory.has(ptr)).toBe(false);
    expect(((await reading) as Float32Array)[10]).toBe(6);
    expect(backend.data.has(id)).toBe(false);
  });
});
