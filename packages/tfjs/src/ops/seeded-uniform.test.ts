import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '@alto/core';
import { seededUniform } from './seeded-uniform.js';

describe('seededUniform', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it("gives rng.fillUniform's values and leaves the generator where fillUniform would", () => {
    const rng = new Rng(1234), ref = new Rng(1234);
    const t = seededUniform(rng, [37, 5], -0.25, 0.5);
    expect(t.shape).toEqual([37, 5]);
    expect(Array.from(t.dataSync())).toEqual(Array.from(ref.fillUniform(new Float32Array(185), -0.25, 0.5)));
    expect(rng.next()).toBe(ref.next());
    t.dispose();
  });

  it('Rng.take hands out the state of the next n draws and skips them', () => {
    const a = new Rng(99), b = new Rng(99);
    const first = b.fillUniform(new Float32Array(1000), 0, 1);
    const state = a.take(1000);
    expect(a.next()).toBe(b.next());
    let handed = -1;
    new Rng(99).fillUniform(new Float32Array(1000), 0, 1, (_out, s) => void (handed = s));
    expect(handed).toBe(state); // the state a fast path is handed
    expect(first[0]).toBe(new Rng(99).fillUniform(new Float32Array(1), 0, 1)[0]);
  });
});
