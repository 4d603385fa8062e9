import { describe, expect, it } from 'vitest';
import { ConfigError } from '@alto/core';
import { validateOptions } from './trainer-options.js';

describe('trainer options', () => {
  it('fills the defaults', () => {
    const o = validateOptions({});
    expect(o.fairShareLead).toBe(2);
    expect(o.pauseTo).toBe('device');
    expect(o.maxConcurrent).toBe(Infinity);
  });

  it('rejects every bad option at once, by name, before any work', () => {
    let error: unknown;
    try {
      validateOptions({ fairShareLead: -1, safetyMargin: 1, pauseTo: 'disk' as 'host', maxConcurrent: 0, evalEvery: 0.5 });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    for (const field of ['fairShareLead', 'safetyMargin', 'pauseTo', 'maxConcurrent', 'evalEvery']) expect(message).toContain(field);
    expect(validateOptions({ fairShareLead: 0 }).fairShareLead).toBe(0);
  });
});
