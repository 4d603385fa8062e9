import * as tf from '@tensorflow/tfjs-core';

/**
 * Backends in order of preference. wasm (XNNPACK) is the default: on a 512³ matmul it ran
 * about 30× faster than the pure-JS cpu backend here (bench/backends has the figures).
 * `tensorflow` (from the optional peer @tensorflow/tfjs-node or -gpu) is supported through
 * the generic op when installed, and untested. `alto-cuda` is ALTO's own CUDA backend.
 */
export const DEFAULT_BACKENDS = ['wasm', 'cpu'] as const;

/** Every backend name `initBackend` knows how to load (`alto-cuda`: @alto/tfjs-backend-cuda). */
export const KNOWN_BACKENDS = ['wasm', 'cpu', 'tensorflow', 'alto-cuda'] as const;

/** Options for the backends that take some (passed by initBackend to their loader). */
export interface BackendOptions {
  /** `alto-cuda`: device, matmulPrecision, cpuFallback (see @alto/tfjs-backend-cuda). */
  cuda?: Record<string, unknown>;
}

const loaders: Record<string, (options: BackendOptions) => Promise<unknown>> = {
  cpu: () => import('@tensorflow/tfjs-backend-cpu'),
  wasm: () => import('@tensorflow/tfjs-backend-wasm'),
  tensorflow: async () => {
    const optional = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'];
    const failures: string[] = [];
    for (const name of optional) {
      try {
        return await import(name);
      } catch (e) {
        failures.push(`${name}: ${(e as Error).message.split('\n')[0]}`);
      }
    }
    throw new Error(`install @tensorflow/tfjs-node or @tensorflow/tfjs-node-gpu to use it (${failures.join('; ')})`);
  },
  'alto-cuda': async (options) => {
    const { registerCudaBackend } = await import('@alto/tfjs-backend-cuda');
    const registration = registerCudaBackend(options.cuda);
    if (!registration.ok) throw new Error(registration.reason);
  },
};

/** No backend of the requested ones could start; the message says why, for each. */
export class BackendUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BackendUnavailableError';
  }
}

/** Registers an extra backend loader (e.g. the native CUDA backend) under a name. */
export function registerBackendLoader(name: string, load: (options: BackendOptions) => Promise<unknown>): void {
  loaders[name] = load;
}

/**
 * Initialises the first backend of `preferred` that loads and starts, and makes it current.
 * If none does, the error lists why each one failed.
 */
export async function initBackend(preferred: string | readonly string[] = DEFAULT_BACKENDS, options: BackendOptions = {}): Promise<string> {
  const names = typeof preferred === 'string' ? [preferred] : preferred;
  const failures: string[] = [];
  for (const name of names) {
    try {
      const load = loaders[name];
      if (!load && !tf.findBackendFactory(name)) throw new Error(`unknown backend (known: ${Object.keys(loaders).join(', ')})`);
      if (load) await load(options);
      if (!(await tf.setBackend(name))) throw new Error('it failed to initialise');
      await tf.ready();
      return name;
    } catch (e) {
      failures.push(`  - ${name}: ${(e as Error).message}`);
    }
  }
  throw new BackendUnavailableError(`no tfjs backend could start:\n${failures.join('\n')}`);
}
