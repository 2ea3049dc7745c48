import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    projects: [
      { extends: true, test: { name: 'crmsync', include: ['test/**/*.test.ts'], globalSetup: ['test/helpers/temp-root.ts'] } },
      // The emulators package, with its own vitest.config.ts.
      'emulators',
    ],
  },
});
