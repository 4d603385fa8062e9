import { DataStorage, engine, KernelBackend, util } from '@tensorflow/tfjs-core';
import type { BackendTimingInfo, BackendValues, DataId, DataType, TensorInfo } from '@tensorflow/tfjs-core';
import { Elem, type CudaEngine } from '@alto/kernels';
import type { ResolvedCudaOptions } from './options.js';

/** Uploads up to this many elements keep their host values. */
const SMALL_UPLOAD = 1 << 16;

/** One tensor's device buffer. */
interface DeviceData {
  ptr: number;
  dtype: DataType;
  size: number;
  refCount: number;
  /** The values once read back, or kept from a small upload (device data never changes after it is written). */
  host?: BackendValues;
  /** A read in flight, which a second read of the same data waits for. */
  reading?: Promise<BackendValues>;
  /** Counts writes in place: a read that ends after one does not keep its (older) values. */
  version?: number;
}

function hostArray(d: DeviceData): Float32Array | Int32Array | Uint8Array {
  return d.dtype === 'float32' ? new Float32Array(d.size) : d.dtype === 'int32' ? new Int32Array(d.size) : new Uint8Array(d.size);
}

/** The engine element type of a tfjs dtype (bool as bytes 0/1); others are not supported. */
export function elemOf(dtype: DataType): number {
  switch (dtype) {
    case 'float32': return Elem.f32;
    case 'int32': return Elem.i32;
    case 'bool': return Elem.u8;
    default: throw new TypeError(`the CUDA backend does not support dtype '${dtype}' (float32, int32 and bool only)`);
  }
}
export function bytesOf(dtype: DataType): number {
  return dtype === 'bool' ? 1 : 4;
}

/** A bf16 copy of one float32 tensor's device data (see CudaBackend.bf16CopyTarget). */
interface Bf16Copy {
  of: DataId;
  /** The data's write-in-place count when the copy was made: a later write makes it stale. */
  version: number | undefined;
  ptr: number;
  size: number;
}

/**
 * A tfjs backend over ALTO's CUDA engine: tensors live in the engine's device memory pool,
 * kernels are queued on its stream, values come back to the host only when read.
 */
export class CudaBackend extends KernelBackend {
  readonly data: DataStorage<DeviceData>;
  private nextId = 0;
  private bf16Copy: Bf16Copy | null = null;

  constructor(readonly cuda: CudaEngine, readonly options: ResolvedCudaOptions) {
    super();
    this.data = new DataStorage(this, engine());
  }

  /** A new, unwritten device tensor of this shape and dtype. */
  makeOutput(shape: number[], dtype: DataType): TensorInfo {
    const size = util.sizeFromShape(shape);
    const dataId = { id: this.nextId++ };
    this.data.set(dataId, { ptr: this.cuda.alloc(size * bytesOf(dtype)), dtype, size, refCount: 1 });
    return { dataId, shape, dtype };
  }

  /** The device address of a tensor's data. */
  ptr(t: TensorInfo): number {
    return this.data.get(t.dataId).ptr;
  }

  override write(values: BackendValues, shape: number[], dtype: DataType): DataId {
    const out = this.makeOutput(shape, dtype);
    this.upload(out.dataId, values, dtype);
    return out.dataId;
  }

  override move(dataId: DataId, values: BackendValues, shape: number[], dtype: DataType, refCount: number): void {
    const size = util.sizeFromShape(shape);
    this.data.set(dataId, { ptr: this.cuda.alloc(size * bytesOf(dtype)), dtype, size, refCount });
    this.upload(dataId, values, dtype);
  }

  private upload(dataId: DataId, values: BackendValues, dtype: DataType): void {
    elemOf(dtype);
    const d = this.data.get(dataId);
    if (d.size === 0) return;
    const typed = dtype === 'bool' && !(values instanceof Uint8Array) ? Uint8Array.from(values as ArrayLike<number>) : (values as ArrayBufferView);
    this.cuda.upload(d.ptr, typed);
    // Small uploads (indices, shapes, scalars) stay readable on the host: kernels that must check
    // values, as gather its indices, do so without a device sync. A copy, so that a caller who
    // reuses its array cannot make the two disagree.
    if (d.size <= SMALL_UPLOAD) d.host = (typed as unknown as Float32Array).slice() as BackendValues;
  }

  /** Forgets the host copy of a tensor's values, for a kernel that has written its device data in place. */
  writtenInPlace(dataId: DataId): void {
    const d = this.data.get(dataId);
    d.host = undefined;
    d.reading = undefined;
    d.version = (d.version ?? 0) + 1;
  }

  /**
   * Under matmulPrecision 'bf16', device memory for a bf16 copy of float32 `t` that the calling
   * kernel writes along with t (0: none wanted). The products that read t next take it instead
   * of each rounding t again: a Llama layer's q, k and v projections read one RMSNorm's output,
   * gate and up another, down the SwiGLU's. One copy is held at a time (a new one replaces it,
   * and it goes with t's data), so it costs at most one tensor's worth of half-size memory.
   */
  bf16CopyTarget(t: TensorInfo): number {
    if (this.options.matmulPrecision !== 'bf16') return 0;
    this.dropBf16Copy();
    const d = this.data.get(t.dataId);
    if (d.dtype !== 'float32' || d.size === 0) return 0;
    const ptr = this.cuda.alloc(d.size * 2);
    this.bf16Copy = { of: t.dataId, version: d.version, ptr, size: d.size };
    return ptr;
  }

  /** The held bf16 copy of `t`'s data, if it is t's and t has not been written since (0: none). */
  bf16CopyOf(t: TensorInfo): number {
    const c = this.bf16Copy;
    if (!c || c.of !== t.dataId || !this.data.has(t.dataId)) return 0;
    const d = this.data.get(t.dataId);
    return d.version === c.version && d.size === c.size ? c.ptr : 0;
  }

  private dropBf16Copy(): void {
    if (this.bf16Copy) this.cuda.free(this.bf16Copy.ptr);
    this.bf16Copy = null;
  }

  /** A tensor's values if they are on the host already, without a device read. */
  hostValues(t: TensorInfo): BackendValues | undefined {
    return this.data.get(t.dataId).host;
  }

  override readSync(dataId: DataId): BackendValues {
    const d = this.data.get(dataId);
    if (d.host) return d.host;
    const out = hostArray(d);
    if (d.size > 0) this.cuda.download(d.ptr, out);
    d.host = out;
    return out;
  }

  /**
   * The values as they are now, without holding this thread while the device catches up: the
   * data is copied on the device in stream order (so the tensor may be disposed or written at
   * once) and reaches the host on a worker thread. Where that copy does not fit in device
   * memory, a blocking read.
   */
  override read(dataId: DataId): Promise<BackendValues> {
    const d = this.data.get(dataId);
    if (d.host) return Promise.resolve(d.host);
    if (d.reading) return d.reading;
    if (d.size === 0) return Promise.resolve(this.readSync(dataId));
    const out = hostArray(d);
    let copied: Promise<void>;
    try {
      copied = this.cuda.downloadAsync(d.ptr, out);
    } catch {
      return Promise.resolve(this.readSync(dataId));
    }
    const version = d.version;
    const reading = copied.then(
      () => {
        if (d.reading === reading) d.reading = undefined;
        if (d.version === version && this.data.has(dataId)) d.host = out;
        return out as BackendValues;
      },
      (e: unknown) => {
        if (d.reading === reading) d.reading = undefined;
        throw e;
      },
    );
    d.reading = reading;
    return reading;
  }

  override refCount(dataId: DataId): number {
    return this.data.has(dataId) ? this.data.get(dataId).refCount : 0;
  }
  override incRef(dataId: DataId): void {
    this.data.get(dataId).refCount++;
  }

  override disposeData(dataId: DataId, force = false): boolean {
    if (!this.data.has(dataId)) return true;
    const d = this.data.get(dataId);
    d.refCount--;
    if (!force && d.refCount > 0) return false;
    if (this.bf16Copy?.of === dataId) this.dropBf16Copy();
    this.cuda.free(d.ptr);
    this.data.delete(dataId);
    return true;
  }

  /** Disposes an intermediate result made inside a kernel. */
  disposeIntermediate(t: TensorInfo): void {
    this.disposeData(t.dataId);
  }

  override numDataIds(): number {
    return this.data.numDataIds();
  }

  /**
   * tfjs's counts (numBytesInGPU: bytes in use; Allocated: held by the pool; Free: its cache),
   * and for capacity planning the most bytes in use since resetPeakMemory() and the memory this
   * process can hold on the device (the device's free memory plus what the pool holds);
   * `pagedMemory`: large tensors in memory mapped in chunks, whose freed memory serves any size.
   */
  override memory() {
    const m = this.cuda.memory();
    return {
      unreliable: false, numBytesInGPU: m.inUse, numBytesInGPUAllocated: m.reserved, numBytesInGPUFree: m.reserved - m.inUse,
      numBytesInGPUPeak: m.peakInUse, numBytesDeviceCapacity: m.deviceTotal > 0 ? m.deviceFree + m.reserved : undefined,
      pagedMemory: m.paged,
    };
  }

  /** Starts the peak count (memory().numBytesInGPUPeak) again from the bytes in use now. */
  resetPeakMemory(): void {
    this.cuda.resetPeak();
  }

  /** Waits for the queued work and returns the pool's cached blocks and wholly free segments to the device. */
  releaseCachedMemory(): void {
    this.cuda.trim();
  }

  override timerAvailable(): boolean {
    return true;
  }
  /**
   * A kernel's stream time, between timing marks recorded before and after it: nothing waits
   * while the profiled work is queued (a wait after every kernel would time the host's launch
   * and the wait too, and starve the device); the marks are read once the event loop turns,
   * after the work queued with them. Not async: a kernel's error (out of memory above all) is
   * thrown where the kernel runs, as it is unprofiled, not left in a promise the profiler does
   * not await until later.
   */
  override time(f: () => void): Promise<BackendTimingInfo> {
    const start = this.cuda.mark();
    try {
      f();
    } catch (e) {
      this.cuda.markRelease(start);
      throw e;
    }
    const end = this.cuda.mark();
    return new Promise((resolve, reject) =>
      setImmediate(() => {
        try {
          resolve({ kernelMs: this.cuda.markElapsed(start, end) });
        } catch (e) {
          reject(e);
        }
      }),
    );
  }

  override floatPrecision(): 16 | 32 {
    return 32;
  }
  override epsilon(): number {
    return 1e-7;
  }

  override dispose(): void {
    this.dropBf16Copy();
    this.cuda.sync();
    this.cuda.destroy();
  }
}
