import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    pool: 'forks',
    // Worker threads started by the code under test load its TypeScript sources through this.
    execArgv: ['--import', fileURLToPath(new URL('./test/support/ts-worker-loader.mjs', import.meta.url))],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    teardownTimeout: 30_000,
  },
});
