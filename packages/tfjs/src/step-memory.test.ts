import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { CapacityModel } from '@alto/core';
import { StepMemory } from './step-memory.js';

describe('StepMemory.beforeStep', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });
  const MB = 2 ** 20;
  const backend = () => tf.backend() as unknown as { memory(): tf.MemoryInfo; releaseCachedMemory?: () => void };
  afterEach(() => {
    vi.restoreAllMocks();
    delete backend().releaseCachedMemory;
  });

  // A backend whose allocator holds `reserved` of a 100 MB device; counts its releases.
  const device = (reserved: () => number, pagedMemory = false) => {
    vi.spyOn(backend(), 'memory').mockImplementation(() => ({ unreliable: false, numBytesInGPU: 0, numBytesInGPUAllocated: reserved(), numBytesDeviceCapacity: 100 * MB, pagedMemory }) as unknown as tf.MemoryInfo);
    const counter = { releases: 0 };
    backend().releaseCachedMemory = () => void counter.releases++;
    return counter;
  };

  it('releases cached memory before a step larger than any before, once the allocator holds over half the device', () => {
    let reserved = 10 * MB;
    const counter = device(() => reserved);
    const memory = new StepMemory(null, 0.1, () => 0, new CapacityModel());
    memory.beforeStep(8);
    memory.beforeStep(16); // larger, but the allocator holds a tenth of the device: holes cost nothing
    expect(counter.releases).toBe(0);
    reserved = 60 * MB;
    memory.beforeStep(16); // not larger than before
    expect(counter.releases).toBe(0);
    memory.beforeStep(32);
    expect(counter.releases).toBe(1);
    memory.beforeStep(24);
    expect(counter.releases).toBe(1);
  });

  it('never releases where freed memory serves any size (paged memory)', () => {
    const counter = device(() => 90 * MB, true);
    const memory = new StepMemory(null, 0.1, () => 0, new CapacityModel());
    memory.beforeStep(8);
    memory.beforeStep(64);
    expect(counter.releases).toBe(0);
  });

  it('measures half against the budget when one is given', () => {
    const counter = device(() => 30 * MB);
    const memory = new StepMemory(40 * MB, 0.1, () => 0, new CapacityModel());
    memory.beforeStep(8);
    expect(counter.releases).toBe(1);
  });
});
