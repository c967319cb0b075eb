// Builds the web application (web/) into dist/web, where the gateway serves it: hashed assets
// under /assets, nothing fetched from the internet at run time.
import { fileURLToPath } from 'node:url';
import preact from '@preact/preset-vite';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  plugins: [preact()],
  // `npx vite --config web/vite.config.ts`: the API of a running gateway, on the same origin.
  server: { proxy: { '/api': process.env.COMMANDER_API ?? 'http://127.0.0.1:8080' } },
  build: {
    outDir: fileURLToPath(new URL('../dist/web', import.meta.url)),
    emptyOutDir: true,
    assetsDir: 'assets',
    target: 'es2022',
    sourcemap: false,
    chunkSizeWarningLimit: 600,
  },
});
