import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Database } from 'better-sqlite3';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAuditLog } from '../audit/audit-log.js';
import { createIngestStats } from '../ingest/ingest-stats.js';
import { createLoginThrottleRepository } from '../repositories/login-throttle-repository.js';
import { createSessionRepository } from '../repositories/session-repository.js';
import { createUserRepository } from '../repositories/user-repository.js';
import { createAuthService } from '../services/auth-service.js';
import { DEFAULT_POLICY } from '../test-support/auth.js';
import { createAgentRepository } from '../repositories/agent-repository.js';
import { createEventRepository } from '../repositories/event-repository.js';
import { createLiveBus } from '../services/live-bus.js';
import { openDatabase } from '../store/database.js';
import { makeTempDir } from '../test-support/fixtures.js';
import { buildServer } from './build-server.js';
import type { MqttStatus } from './deps.js';

describe('buildServer (inject, no listen)', () => {
  let tmp: ReturnType<typeof makeTempDir>;
  let db: Database;
  let mqtt: MqttStatus;
  beforeEach(() => {
    tmp = makeTempDir();
    db = openDatabase({ dataDir: path.join(tmp.dir, 'data') });
    mqtt = { mode: 'embedded', connected: true, subscribed: true };
  });
  afterEach(() => {
    db.close();
    tmp.remove();
  });

  function build(consoleDir: string) {
    const users = createUserRepository(db);
    const audit = createAuditLog(db);
    return buildServer({
      deps: {
        agents: createAgentRepository(db),
        events: createEventRepository(db),
        bus: createLiveBus(),
        ingestStats: createIngestStats,
        mqttStatus: () => mqtt,
        dbOk: () => true,
        auth: createAuthService({
          users,
          sessions: createSessionRepository(db),
          throttle: createLoginThrottleRepository(db),
          audit,
          policy: DEFAULT_POLICY,
          logger: pino({ level: 'silent' }),
        }),
        users,
        audit,
      },
      logger: pino({ level: 'silent' }),
      consoleDir,
      ws: { pingIntervalMs: 30_000, maxBufferedBytes: 1 << 20, helloEvents: 50 },
      auth: {
        mode: 'disabled',
        idleTimeoutMs: 60_000,
        absoluteTimeoutMs: 3_600_000,
        cookieSecure: 'auto',
        metricsToken: null,
      },
    }).app;
  }

  it('answers /healthz 503 while MQTT is not subscribed', async () => {
    const app = build(tmp.dir);
    mqtt = { mode: 'external', connected: false, subscribed: false };
    const res = await app.inject({ method: 'GET', url: '/healthz' });
    expect(res.statusCode).toBe(503);
    // public, so it says up or down and nothing else
    expect(res.json()).toEqual({ ok: false });
    await app.close();
  });

  it('serves the built console with security headers, or a 503 hint when it is not built', async () => {
    const missing = build(path.join(tmp.dir, 'nowhere'));
    const none = await missing.inject({ method: 'GET', url: '/' });
    expect(none.statusCode).toBe(503);
    expect(none.body).toMatch(/npm run build -w console/);
    await missing.close();

    writeFileSync(path.join(tmp.dir, 'index.html'), '<!doctype html><title>Portail</title>');
    const app = build(tmp.dir);
    const res = await app.inject({ method: 'GET', url: '/' });
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('<title>Portail</title>');
    expect(res.headers['content-security-policy']).toMatch(/default-src 'self'/);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    const stats = await app.inject({ method: 'GET', url: '/api/stats' });
    expect(stats.json()).toEqual({
      ingest: createIngestStats(),
      mqtt,
      db: { ok: true },
      ws: { clients: 0, droppedSlow: 0, droppedUnresponsive: 0 },
    });
    await app.close();
  });
});
