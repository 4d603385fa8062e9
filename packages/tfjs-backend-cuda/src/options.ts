/** Options of the CUDA backend, checked when the backend is made. */
export interface CudaBackendOptions {
  /** CUDA device index (default 0). */
  device?: number;
  /**
   * How matrix products treat their float32 inputs: 'fp32' exact (default), 'tf32' or 'bf16'
   * rounded on the tensor cores; products are always summed in fp32.
   */
  matmulPrecision?: 'fp32' | 'tf32' | 'bf16';
  /** Backend registry priority (default 3: above cpu and wasm). */
  priority?: number;
  /**
   * Run kernels this backend lacks on the CPU (default false: such a kernel is tfjs's error
   * naming it). Each one is reported once; its tensors travel to the host and back.
   */
  cpuFallback?: boolean;
  /**
   * Tensors of 16 MiB and up in device memory mapped in chunks into one range of addresses
   * (default true, where the device supports it): memory freed between live tensors serves
   * tensors of any later size. false: separately allocated segments, whose free holes serve
   * only what fits in them.
   */
  pagedMemory?: boolean;
}

export interface ResolvedCudaOptions {
  device: number;
  matmulPrecision: 'fp32' | 'tf32' | 'bf16';
  priority: number;
  cpuFallback: boolean;
  pagedMemory: boolean;
}

/** Each bad field with its reason (empty when the options are good). */
export function cudaOptionProblems(options: CudaBackendOptions = {}): { field: string; reason: string }[] {
  const problems: { field: string; reason: string }[] = [];
  const known = new Set(['device', 'matmulPrecision', 'priority', 'cpuFallback', 'pagedMemory']);
  for (const key of Object.keys(options)) if (!known.has(key)) problems.push({ field: key, reason: `unknown option (known: ${[...known].join(', ')})` });
  const { device, matmulPrecision, priority, cpuFallback, pagedMemory } = options;
  if (device !== undefined && (!Number.isInteger(device) || device < 0)) problems.push({ field: 'device', reason: `must be a non-negative integer (got ${String(device)})` });
  if (matmulPrecision !== undefined && !['fp32', 'tf32', 'bf16'].includes(matmulPrecision)) {
    problems.push({ field: 'matmulPrecision', reason: `must be 'fp32', 'tf32' or 'bf16' (got ${JSON.stringify(matmulPrecision)})` });
  }
  if (cpuFallback !== undefined && typeof cpuFallback !== 'boolean') problems.push({ field: 'cpuFallback', reason: `must be true or false (got ${JSON.stringify(cpuFallback)})` });
  if (pagedMemory !== undefined && typeof pagedMemory !== 'boolean') problems.push({ field: 'pagedMemory', reason: `must be true or false (got ${JSON.stringify(pagedMemory)})` });
  if (priority !== undefined && !Number.isFinite(priority)) problems.push({ field: 'priority', reason: `must be a finite number (got ${String(priority)})` });
  return problems;
}

/** The options with their defaults; every bad field named with its reason, before anything touches the GPU. */
export function resolveCudaOptions(options: CudaBackendOptions = {}): ResolvedCudaOptions {
  const problems = cudaOptionProblems(options);
  if (problems.length > 0) throw new RangeError(`invalid CUDA backend options:\n  ${problems.map((p) => `${p.field}: ${p.reason}`).join('\n  ')}`);
  return { device: options.device ?? 0, matmulPrecision: options.matmulPrecision ?? 'fp32', priority: options.priority ?? 3, cpuFallback: options.cpuFallback ?? false, pagedMemory: options.pagedMemory ?? true };
}
