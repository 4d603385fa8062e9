/**
 * @alto/kernels: ALTO's native grouped-LoRA kernels (kernels/ at the repository root) as a
 * Node-API addon. The CPU kernels are always part of the build; the CUDA kernels are when
 * nvcc was found. `loadNativeKernels()` never throws: when the addon is missing it says why
 * and how to build it, and callers fall back to their own kernels.
 */
export { loadNativeKernels, nativePlan, NATIVE_ADDON_ENV, NATIVE_OFF_ENV } from './native.js';
export type { NativeKernels, NativeLoad, NativePlan } from './native.js';
export type { CudaEngine, CudaEngineOptions } from './native.js';
export { Elem, UnaryOp, BinaryOp, ReduceOp, MatmulPrecision } from './engine-enums.js';
