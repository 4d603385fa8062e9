import * as tf from '@tensorflow/tfjs-core';

/** Device memory as a backend with its own allocator reports it (the CUDA backend does). */
interface DeviceMemoryInfo extends tf.MemoryInfo {
  numBytesInGPU?: number;
  numBytesInGPUPeak?: number;
  numBytesInGPUAllocated?: number;
  numBytesDeviceCapacity?: number;
  pagedMemory?: boolean;
}

/**
 * Bytes the live tensors hold: the device's count where the backend keeps one (the CUDA
 * backend: its pool's blocks in use), else tfjs's numBytes, which counts a buffer again for
 * every view and clone of it (the tape's saved tensors are clones), so overstates the memory
 * about twofold in training.
 */
export function liveBytes(): number {
  const m = tf.memory() as DeviceMemoryInfo;
  return typeof m.numBytesInGPU === 'number' ? m.numBytesInGPU : m.numBytes;
}

/** The most bytes in use since resetPeakBytes(), where the backend counts it; else null. */
export function peakBytes(): number | null {
  const m = tf.memory() as DeviceMemoryInfo;
  return typeof m.numBytesInGPUPeak === 'number' ? m.numBytesInGPUPeak : null;
}

/** The device memory the backend's allocator holds (its blocks in use and cached), where it counts it; else null. */
export function reservedBytes(): number | null {
  const m = tf.memory() as DeviceMemoryInfo;
  return typeof m.numBytesInGPUAllocated === 'number' ? m.numBytesInGPUAllocated : null;
}

/**
 * Has the backend give its allocator's cached memory back to the device, where it can: a step
 * larger than any before then carves its tensors from segments of its own sizes instead of
 * from the holes that smaller steps' tensors left in theirs. False where the backend cannot.
 */
export function releaseCachedBytes(): boolean {
  const backend = tf.backend() as unknown as { releaseCachedMemory?: () => void };
  if (typeof backend.releaseCachedMemory !== 'function') return false;
  backend.releaseCachedMemory();
  return true;
}

/**
 * Whether memory the backend's allocator frees serves later tensors of any size (the CUDA
 * backend's paged memory: free holes give their chunks back when the device runs short), so
 * that there is no fragmentation for a release to undo.
 */
export function cacheServesAnySize(): boolean {
  return (tf.memory() as DeviceMemoryInfo).pagedMemory === true;
}

export function resetPeakBytes(): void {
  (tf.backend() as unknown as { resetPeakMemory?: () => void }).resetPeakMemory?.();
}

/** The memory this process can hold on the device (free memory plus what it holds), where known. */
export function deviceCapacityBytes(): number | null {
  const m = tf.memory() as DeviceMemoryInfo;
  return typeof m.numBytesDeviceCapacity === 'number' && m.numBytesDeviceCapacity > 0 ? m.numBytesDeviceCapacity : null;
}
