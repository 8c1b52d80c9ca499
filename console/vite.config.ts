import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// `npm run dev -w console` proxies the API and the live socket to a running control server.
const target = process.env.PORTAIL_SERVER_URL ?? 'http://127.0.0.1:8080';

export default defineConfig({
  plugins: [react()],
  base: '/',
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: true, target: 'es2022' },
  server: {
    proxy: {
      '/api': { target },
      '/healthz': { target },
      '/ws': { target: target.replace(/^http/, 'ws'), ws: true },
    },
  },
});
