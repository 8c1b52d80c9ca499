// Writes config/agent.schema.json and config/server.schema.json from the zod schemas of each
// service; a test fails when they are stale (`npm run gen` rewrites them).
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { configJsonSchema } from '../control-server/src/config/schema.js';
import { agentConfigJsonSchema } from '../edge-agent/src/config/schema.js';

export const CONFIG_SCHEMAS = {
  'agent.schema.json': agentConfigJsonSchema,
  'server.schema.json': configJsonSchema,
} as const;

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const [file, make] of Object.entries(CONFIG_SCHEMAS)) {
    writeFileSync(fileURLToPath(new URL(`../config/${file}`, import.meta.url)), `${JSON.stringify(make(), null, 2)}\n`);
  }
  process.stdout.write(`wrote ${Object.keys(CONFIG_SCHEMAS).join(', ')}\n`);
}
