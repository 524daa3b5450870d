import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    // The JSON report feeds the workspace summary line (tools/summary.mjs).
    reporters: ['default', 'json'],
    outputFile: { json: 'reports/vitest.json' },
  },
});
