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
}

export interface ResolvedCudaOptions {
  device: number;
  matmulPrecision: 'fp32' | 'tf32' | 'bf16';
  priority: number;
}

/** Every bad field named with its reason, before anything touches the GPU. */
export function resolveCudaOptions(options: CudaBackendOptions = {}): ResolvedCudaOptions {
  const problems: string[] = [];
  const device = options.device ?? 0;
  if (!Number.isInteger(device) || device < 0) problems.push(`device: must be a non-negative integer (got ${String(options.device)})`);
  const matmulPrecision = options.matmulPrecision ?? 'fp32';
  if (!['fp32', 'tf32', 'bf16'].includes(matmulPrecision)) {
    problems.push(`matmulPrecision: must be 'fp32', 'tf32' or 'bf16' (got ${JSON.stringify(options.matmulPrecision)})`);
  }
  const priority = options.priority ?? 3;
  if (!Number.isFinite(priority)) problems.push(`priority: must be a finite number (got ${String(options.priority)})`);
  if (problems.length > 0) throw new RangeError(`invalid CUDA backend options:\n  ${problems.join('\n  ')}`);
  return { device, matmulPrecision, priority };
}
