import { KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { loadNativeKernels, nativePlan, type NativeKernels } from '@alto/kernels';
import { kernelInput, registerOnce } from './primitives.js';
import { adapterInputName, GroupedLoraAttrs } from './plan-attrs.js';
import type { CpuBackendLike, WasmBackendLike } from './host-backends.js';

/**
 * The grouped-LoRA kernels of @alto/kernels (native, multi-threaded) for the backends whose
 * buffers live in host memory: cpu (a Float32Array per tensor) and wasm (views of the
 * WebAssembly heap). Inputs are read and outputs written in place, with no copies.
 */
export const GROUPED_LORA_NATIVE = 'AltoGroupedLoraNative';
export const GROUPED_LORA_NATIVE_GRAD = 'AltoGroupedLoraNativeGrad';

/** Where a backend keeps a tensor's floats, and how it makes an output of its own. */
interface HostBuffers {
  view(t: TensorInfo): Float32Array;
  output(shape: number[]): TensorInfo;
}


const HOST_BUFFERS: Record<string, (backend: unknown) => HostBuffers> = {
  cpu: (backend) => {
    const b = backend as CpuBackendLike;
    return {
      view: (t) => b.data.get(t.dataId).values,
      output: (shape) => b.makeTensorInfo(shape, 'float32', new Float32Array(shape.reduce((p, d) => p * d, 1))),
    };
  },
  wasm: (backend) => {
    const b = backend as WasmBackendLike;
    return { view: (t) => b.typedArrayFromHeap(t), output: (shape) => b.makeOutput(shape, 'float32') };
  },
};

/** The backends whose buffers the native kernels can read directly. */
export const NATIVE_BACKENDS = Object.keys(HOST_BUFFERS);

/** The plan of a kernel's attributes, as the addon reads it. */
export function planOf(a: GroupedLoraAttrs) {
  return nativePlan({ segmentOffsets: a.segmentOffsets, segmentAdapter: a.segmentAdapter, ranks: a.ranks, scales: a.scales });
}

const forward = (kernels: NativeKernels, backendName: string): KernelFunc => ({ inputs, backend, attrs }) => {
  const a = attrs as unknown as GroupedLoraAttrs;
  const K = a.ranks.length;
  const x = kernelInput(inputs, '0');
  const base = kernelInput(inputs, '1');
  const A = a.ranks.map((_, i) => kernelInput(inputs, adapterInputName('A', i, K)));
  const B = a.ranks.map((_, i) => kernelInput(inputs, adapterInputName('B', i, K)));
  const host = HOST_BUFFERS[backendName](backend);
  const [T, dIn] = x.shape;
  const dOut = base.shape[1];
  const y = host.output([T, dOut]);
  if (T === 0) return y;
  // Views are taken after every allocation: growing the wasm heap detaches earlier ones.
  kernels.cpuForward(planOf(a), host.view(x), dIn, A.map(host.view), B.map(host.view), host.view(base), host.view(y), dOut);
  return y;
};

const backward = (kernels: NativeKernels, backendName: string): KernelFunc => ({ inputs, backend, attrs }) => {
  const a = attrs as unknown as GroupedLoraAttrs;
  const K = a.ranks.length;
  const x = kernelInput(inputs, '0');
  const dy = kernelInput(inputs, '1');
  const A = a.ranks.map((_, i) => kernelInput(inputs, adapterInputName('A', i, K)));
  const B = a.ranks.map((_, i) => kernelInput(inputs, adapterInputName('B', i, K)));
  const host = HOST_BUFFERS[backendName](backend);
  const [T, dIn] = x.shape;
  const dOut = dy.shape[1];
  const dX = host.output([T, dIn]);
  const dA = a.ranks.map((r) => host.output([dIn, r]));
  const dB = a.ranks.map((r) => host.output([r, dOut]));
  const dAv = dA.map(host.view);
  const dBv = dB.map(host.view);
  // The kernels add into dA and dB; a wasm output is uninitialised heap.
  for (const g of [...dAv, ...dBv]) g.fill(0);
  if (T > 0) kernels.cpuBackward(planOf(a), host.view(x), dIn, host.view(dy), dOut, A.map(host.view), B.map(host.view), host.view(dX), dAv, dBv);
  return [dX, ...dA, ...dB];
};

/** Registers the native kernels for a backend (once); false when they cannot serve it. */
export function ensureNativeKernels(backendName: string): boolean {
  const load = loadNativeKernels();
  if (!load.ok || !HOST_BUFFERS[backendName]) return false;
  registerOnce(GROUPED_LORA_NATIVE, backendName, forward(load.kernels, backendName));
  registerOnce(GROUPED_LORA_NATIVE_GRAD, backendName, backward(load.kernels, backendName));
  return true;
}
