import { fileURLToPath, URL } from 'node:url'
import { defineConfig } from 'vitest/config'

// Browser end-to-end tests: the real server binary (HEARTH_BIN) driven by
// Debian's Chromium through playwright-core. Run with `npm run e2e`.
export default defineConfig({
  resolve: {
    alias: { '@': fileURLToPath(new URL('./src', import.meta.url)) },
  },
  test: {
    environment: 'node',
    include: ['tests/e2e/**/*.e2e.ts'],
    testTimeout: 90_000,
    hookTimeout: 90_000,
    fileParallelism: false,
    pool: 'forks',
    reporters: ['verbose'],
  },
})
