/**
 * Kernels keyed by (kernel name, backend). Backends register faster kernels with a
 * priority; `resolve` returns the highest-priority kernel for the backend, falling back to
 * one registered for every backend (`'*'`, where the reference implementations live).
 */
export const ANY_BACKEND = '*';

export interface KernelRegistration<F> {
  kernelName: string;
  backend: string;
  /** Higher wins; the reference implementations register at 0. */
  priority: number;
  /** Who provided it, for diagnostics ("reference", "native-cpu", …). */
  provider: string;
  impl: F;
}

export class KernelRegistry<Kernels extends { [name: string]: unknown }> {
  private readonly entries: KernelRegistration<unknown>[] = [];

  /** Registers a kernel; returns a function that unregisters it. */
  register<N extends keyof Kernels & string>(
    kernelName: N,
    backend: string,
    impl: Kernels[N],
    options: { priority?: number; provider?: string } = {},
  ): () => void {
    const entry: KernelRegistration<unknown> = {
      kernelName, backend, impl, priority: options.priority ?? 0, provider: options.provider ?? 'unnamed',
    };
    this.entries.push(entry);
    return () => {
      const i = this.entries.indexOf(entry);
      if (i >= 0) this.entries.splice(i, 1);
    };
  }

  /** Every kernel that could serve (kernelName, backend), best first. */
  candidates<N extends keyof Kernels & string>(kernelName: N, backend: string): KernelRegistration<Kernels[N]>[] {
    const score = (e: KernelRegistration<unknown>) => (e.backend === backend ? 1 : 0) * 1e9 + e.priority;
    return (this.entries as KernelRegistration<Kernels[N]>[])
      .filter((e) => e.kernelName === kernelName && (e.backend === backend || e.backend === ANY_BACKEND))
      .sort((a, b) => score(b) - score(a));
  }

  resolve<N extends keyof Kernels & string>(kernelName: N, backend: string): KernelRegistration<Kernels[N]> {
    const [best] = this.candidates(kernelName, backend);
    if (!best) throw new Error(`no kernel "${kernelName}" is registered for backend "${backend}" nor for every backend`);
    return best;
  }
}
