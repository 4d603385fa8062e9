import { describe, expect, it } from 'vitest';
import { broadcastStrides } from './binary.js';
import { rangeValues } from './composite.js';
import { stridesOf } from './data.js';

// The host-side index arithmetic the CUDA kernels are launched with (no GPU needed).
describe('CUDA backend index helpers', () => {
  it('broadcasts operands right-aligned, stride 0 on size-1 and missing dims', () => {
    expect(broadcastStrides([3, 1], [2, 3, 4])).toEqual([0, 1, 0]);
    expect(broadcastStrides([2, 3, 4], [2, 3, 4])).toEqual([12, 4, 1]);
    expect(broadcastStrides([4], [2, 3, 4])).toEqual([0, 0, 1]);
    expect(broadcastStrides([], [5])).toEqual([0]);
  });

  it('gives row-major strides', () => {
    expect(stridesOf([2, 3, 4])).toEqual([12, 4, 1]);
    expect(stridesOf([7])).toEqual([1]);
    expect(stridesOf([])).toEqual([]);
  });

  it('makes ranges as tfjs does, including its empty and sign-adjusted cases', () => {
    expect(Array.from(rangeValues(0, 10, 3, 'int32'))).toEqual([0, 3, 6, 9]);
    expect(Array.from(rangeValues(5, 1, -1.5, 'float32'))).toEqual([5, 3.5, 2]);
    expect(Array.from(rangeValues(3, 0, 1, 'int32'))).toEqual([3, 2, 1]);
    expect(rangeValues(0, 5, -1, 'float32').length).toBe(0);
    expect(rangeValues(2, 2, 1, 'int32').length).toBe(0);
  });
});
