import * as tf from '@tensorflow/tfjs-core';

/** Time per kernel of one profiled step, measured by the backend's timer. */
export interface KernelProfile {
  /** The executor step that was profiled. */
  step: number;
  backend: string;
  /** Wall time of the profiled step (with the backend's timer around every kernel). */
  wallMs: number;
  /** Sum over the backend's own kernels (custom-gradient scopes would count their kernels twice). */
  kernelMs: number;
  /** Every kernel and scope, most time first; `scope` rows contain kernels listed on their own. */
  kernels: { name: string; calls: number; ms: number; scope: boolean }[];
}

/** Runs `f` under tf.profile and sums the time of each kernel name. */
export async function profileKernels<T>(step: number, f: () => Promise<T>): Promise<{ result: T; profile: KernelProfile }> {
  let result!: T;
  const started = performance.now();
  // A step that throws (out of memory: the trainer takes it again with fewer rows) must leave
  // profiling off, and tf.profile leaves it on when its query throws: the error is held and
  // thrown once the profile has closed.
  let failure: { error: unknown } | null = null;
  const info = await tf.profile(async () => {
    try {
      result = await f();
    } catch (error) {
      failure = { error };
    }
    return [] as tf.Tensor[];
  });
  if (failure) throw (failure as { error: unknown }).error;
  const wallMs = performance.now() - started;
  const backend = tf.getBackend();
  const rows = new Map<string, { name: string; calls: number; ms: number; scope: boolean }>();
  for (const k of info.kernels) {
    const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    const row = rows.get(k.name) ?? { name: k.name, calls: 0, ms: 0, scope: !tf.getKernel(k.name, backend) };
    row.calls += 1;
    row.ms += ms;
    rows.set(k.name, row);
  }
  const kernels = [...rows.values()].sort((a, b) => b.ms - a.ms);
  const kernelMs = kernels.filter((k) => !k.scope).reduce((s, k) => s + k.ms, 0);
  return { result, profile: { step, backend, wallMs, kernelMs, kernels } };
}
