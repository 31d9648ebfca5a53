import { fileURLToPath, URL } from 'node:url'
import vue from '@vitejs/plugin-vue'
import Components from 'unplugin-vue-components/vite'
import { ElementPlusResolver } from 'unplugin-vue-components/resolvers'
import { defineConfig } from 'vitest/config'

// The server embeds `dist/` and serves it at `/`; `base: './'` keeps every
// asset URL relative so the UI also works behind a reverse proxy sub-path.
export default defineConfig({
  base: './',
  plugins: [
    vue(),
    // Element Plus components are imported one by one (with their CSS) as the
    // templates use them, which keeps the bundle small.
    Components({
      dirs: [],
      // Written by builds only: a test run sees only some templates and
      // would rewrite this tracked file with a partial list. Kept outside
      // src/: a build rewrites it (same text, new mtime), and build.rs reruns
      // the web build, and recompiles the server, whenever src/ changes.
      dts: process.env.VITEST ? false : 'components.d.ts',
      resolvers: [ElementPlusResolver({ importStyle: 'css' })],
    }),
  ],
  resolve: {
    alias: { '@': fileURLToPath(new URL('./src', import.meta.url)) },
  },
  // vue-i18n's feature flags (its esm-bundler build asks for them): the
  // Composition API only, and the message compiler kept: messages are
  // strings compiled at run time by its JIT compiler, which evaluates an AST
  // (no eval / new Function), so the server's CSP `script-src 'self'` holds.
  define: {
    __VUE_I18N_FULL_INSTALL__: 'true',
    __VUE_I18N_LEGACY_API__: 'false',
    __INTLIFY_PROD_DEVTOOLS__: 'false',
    __INTLIFY_DROP_MESSAGE_COMPILER__: 'false',
  },
  server: {
    // `npm run dev` talks to a Hearth server started separately
    // (`hearth serve --no-open`, port 3001 by default).
    proxy: {
      '/api': { target: process.env.HEARTH_DEV_SERVER ?? 'http://127.0.0.1:3001', ws: true },
    },
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2020',
    reportCompressedSize: false,
    // One chunk by design: the server embeds `dist/` and serves it over the
    // LAN (no CDN caching to split for). About 800 kB, a third of it Element
    // Plus, ~65 kB vue-i18n with its message compiler, ~25 kB the QR code
    // encoder of the invite dialog (~270 kB gzipped).
    chunkSizeWarningLimit: 850,
    // No manualChunks: assigning Element Plus to a manual chunk defeats its
    // tree-shaking (the whole library would be bundled).
  },
  test: {
    environment: 'happy-dom',
    environmentOptions: { happyDOM: { url: 'http://hearth.test/' } },
    include: ['tests/unit/**/*.test.ts'],
    // vue-i18n on every mount, zh-CN (tests/unit/helpers.ts).
    setupFiles: ['tests/unit/setup.ts'],
    restoreMocks: true,
    // Element Plus imports its CSS from ES modules: let Vite process them.
    server: { deps: { inline: ['element-plus'] } },
    unstubGlobals: true,
  },
})
