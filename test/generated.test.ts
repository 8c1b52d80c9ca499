import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CONFIG_SCHEMAS } from '../scripts/gen-config-schemas.js';
import { REPO_ROOT } from './helpers/paths.js';
import { parseAgentConfig } from '../edge-agent/src/config/load.js';

describe('generated files and examples stay true to the code', () => {
  it('config/*.schema.json match the zod schemas (run `npm run gen`)', () => {
    for (const [file, make] of Object.entries(CONFIG_SCHEMAS)) {
      const committed = JSON.parse(readFileSync(join(REPO_ROOT, 'config', file), 'utf8')) as unknown;
      expect(committed, `${file} is stale`).toEqual(JSON.parse(JSON.stringify(make())));
    }
  });

  it('the demo agent configuration is valid', () => {
    const raw = parse(readFileSync(join(REPO_ROOT, 'config', 'demo-agent.yaml'), 'utf8')) as unknown;
    const cfg = parseAgentConfig(raw);
    expect(cfg.cameras.map((c) => c.id)).toEqual(['entrance', 'hall']);
  });
});
