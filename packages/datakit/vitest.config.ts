import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    // Many tests start the built server or the CLI as processes, and git: on a busy
    // 2-core machine one node start alone can pass vitest's default 5 s.
    testTimeout: 30_000,
    // The JSON report feeds the workspace summary line (tools/summary.mjs).
    reporters: ['default', 'json'],
    outputFile: { json: 'reports/vitest.json' },
  },
});
