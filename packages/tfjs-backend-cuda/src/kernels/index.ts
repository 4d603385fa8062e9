import type { KernelConfig } from '@tensorflow/tfjs-core';
import { binaryKernels } from './binary.js';
import { compositeKernels } from './composite.js';
import { dataKernels } from './data.js';
import { layoutKernels } from './layout.js';
import { matmulKernels } from './matmul.js';
import { reduceKernels } from './reduce.js';
import { unaryKernels } from './unary.js';

/** Every kernel of the CUDA backend (backendName filled in at registration). */
export const cudaKernels: KernelConfig[] = [...binaryKernels, ...unaryKernels, ...reduceKernels, ...layoutKernels, ...dataKernels, ...compositeKernels, ...matmulKernels];
