import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeConfig, startControlServer, type ControlServer } from '@portail/control-server';
import { REPO_ROOT } from './paths.js';

export interface TestServer {
  server: ControlServer;
  dataDir: string;
  dbPath: string;
}

/** A real control server on ephemeral ports with a temp SQLite file; embedded broker unless a URL is given. */
export async function startTestServer(opts: { externalMqttUrl?: string; dataDir?: string } = {}): Promise<TestServer> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'portail-server-'));
  const config = makeConfig({
    dataDir,
    http: { host: '127.0.0.1', port: 0 },
    mqtt: opts.externalMqttUrl
      ? { mode: 'external', url: opts.externalMqttUrl, clientId: `portail-test-${process.pid}-${Date.now()}` }
      : { mode: 'embedded', host: '127.0.0.1', port: 0 },
    consoleDir: join(REPO_ROOT, 'console', 'dist'),
    log: { level: process.env.PORTAIL_TEST_LOG ?? 'silent' },
    // these tests exercise ingest, the live feed and the console, which does not log in yet;
    // accounts, roles and scoping are tested in control-server/src/http/*.test.ts
    auth: { mode: 'disabled' },
  });
  const server = await startControlServer(config);
  return { server, dataDir, dbPath: join(dataDir, 'portail.sqlite') };
}
