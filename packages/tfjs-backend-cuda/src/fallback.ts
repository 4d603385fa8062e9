import * as tf from '@tensorflow/tfjs-core';
import type { KernelBackend, KernelConfig, KernelFunc, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs-core';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';

/**
 * The CPU fallback, when asked for (`cpuFallback: true`): every kernel that tfjs's cpu backend
 * has and this backend lacks runs on a private cpu backend, its inputs copied to the host and
 * its outputs back to the device. Each such kernel is reported once, the first time it runs.
 */
const ranOnCpu = new Set<string>();
let cpu: MathBackendCPU | undefined;

/** The kernels that have run on the CPU fallback so far, sorted. */
export function cpuFallbackKernels(): string[] {
  return [...ranOnCpu].sort();
}

/** Registers a fallback for each cpu kernel `backendName` lacks; returns how many. */
export function registerCpuFallbacks(backendName: string): number {
  let count = 0;
  for (const config of tf.getKernelsForBackend('cpu')) {
    if (tf.getKernel(config.kernelName, backendName)) continue;
    tf.registerKernel({ kernelName: config.kernelName, backendName, kernelFunc: onCpu(config) });
    ++count;
  }
  return count;
}

function onCpu(config: KernelConfig): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const device = backend as KernelBackend;
    if (!ranOnCpu.has(config.kernelName)) {
      ranOnCpu.add(config.kernelName);
      console.warn(`[${tf.getBackend()}] ${config.kernelName} has no kernel here: it runs on the CPU (cpuFallback), its tensors copied to the host and back`);
    }
    cpu ??= new MathBackendCPU();
    const host = cpu;
    const made: TensorInfo[] = [];
    const hostInputs: NamedTensorInfoMap = {};
    for (const [name, t] of Object.entries(inputs)) {
      if (!t) continue;
      const info = { dataId: host.write(device.readSync(t.dataId), t.shape, t.dtype), shape: t.shape, dtype: t.dtype };
      made.push(info);
      hostInputs[name] = info;
    }
    try {
      const out = config.kernelFunc({ inputs: hostInputs, backend: host, attrs });
      const outs = Array.isArray(out) ? out : [out];
      made.push(...outs);
      const back = outs.map((o) => ({ dataId: device.write(host.readSync(o.dataId), o.shape, o.dtype), shape: o.shape, dtype: o.dtype }));
      return Array.isArray(out) ? back : back[0];
    } finally {
      for (const t of made) host.disposeData(t.dataId, true);
    }
  };
}
