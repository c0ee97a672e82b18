import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup.ts'],
    testTimeout: 60_000,
    // tfjs keeps one global engine per process; forks isolate the test files from each other.
    pool: 'forks',
  },
});
