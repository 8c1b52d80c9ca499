import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  resolve: {
    // tests run the TypeScript sources of the workspaces, never a stale dist/
    alias: [
      { find: /^@portail\/vision\/(.*)\.js$/, replacement: `${src('./vision/src/')}$1.ts` },
      ...Object.entries({
      '@portail/protocol': src('./protocol/src/index.ts'),
      '@portail/models': src('./models/src/index.ts'),
      '@portail/control-server': src('./control-server/src/server.ts'),
      '@portail/edge-agent': src('./edge-agent/src/agent.ts'),
      }).map(([find, replacement]) => ({ find, replacement })),
    ],
  },
  test: {
    include: ['**/src/**/*.test.ts', 'test/**/*.test.ts', 'scripts/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // 2 cores: models and ffmpeg in parallel files only fight each other
    maxWorkers: 2,
  },
});
