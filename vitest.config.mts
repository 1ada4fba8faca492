import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Temporal's native core bridge does not work inside worker threads.
    pool: 'forks',
    include: ['**/*.test.ts'],
    exclude: ['node_modules/**', 'dist/**'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
