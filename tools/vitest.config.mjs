import { defineConfig } from 'vitest/config';

// Tests of the workspace itself (boundaries, graph), run by tools/test.
export default defineConfig({
  test: {
    root: new URL('.', import.meta.url).pathname,
    include: ['*.test.mjs'],
    testTimeout: 120_000,
    reporters: ['default', 'json'],
    outputFile: { json: 'reports/vitest.json' },
  },
});
