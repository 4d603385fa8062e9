import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  resolve: {
    alias: {
      '@alto/core': src('./packages/core/src/index.ts'),
      '@alto/kernels': src('./packages/kernels/src/index.ts'),
      '@alto/scheduler': src('./packages/scheduler/src/index.ts'),
      '@alto/scheduler-link': src('./plugins/scheduler-link/src/index.ts'),
      '@alto/tfjs': src('./packages/tfjs/src/index.ts'),
      '@alto/tfjs-backend-cuda': src('./packages/tfjs-backend-cuda/src/index.ts'),
      '@alto/models': src('./packages/models/src/index.ts'),
      '@alto/cli': src('./packages/cli/src/index.ts'),
      '@alto/early-exit': src('./plugins/early-exit/src/index.ts'),
    },
  },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'plugins/*/src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
