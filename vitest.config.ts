import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    // Integration files each bring up their own Compose project and spawn CLI processes; on a
    // 2-core machine running them one at a time keeps health-probe timing realistic.
    fileParallelism: false,
    // The diagnosis scenarios (one file) run this many at a time, each on its own Compose project.
    maxConcurrency: 4,
    testTimeout: 60_000,
    hookTimeout: 180_000,
    reporters: ['default'],
  },
});
