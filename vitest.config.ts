import { defineConfig } from 'vitest/config';

/**
 * Two groups, run one after the other: the node's own suites (files in parallel), then the suites that
 * start several processes (federation, devnet, the examples, chromium), one file at a time, so that those processes get the
 * machine's cores instead of racing every other suite for them.
 */
export default defineConfig({
  test: {
    testTimeout: 30_000,
    // Set-up hooks start chains and node processes; vitest's 10 s default is less than one start on a
    // busy 2-core host.
    hookTimeout: 60_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'node',
          include: ['test/**/*.test.ts'],
          exclude: ['test/federation/**', 'test/scripts/**', 'test/browser/**'],
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'federation',
          include: ['test/federation/**/*.test.ts', 'test/scripts/**/*.test.ts', 'test/browser/**/*.test.ts'],
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
