import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Integration tests spawn real daemons and processes: keep them from starving each other on 2 cores.
    fileParallelism: true,
    maxWorkers: 2,
  },
});
