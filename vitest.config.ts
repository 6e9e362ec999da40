import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/long/**'],
    // nothing left in the system temp folder: folders removed per file, leftovers fail the run
    globalSetup: ['test/temp-check.ts'],
    setupFiles: ['test/temp-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    reporters: ['default'],
  },
});
