import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildTopic, encodePayload, newEventId } from '@portail/protocol';
import { makeConfig, startControlServer, type ControlServer } from '@portail/control-server';
import Database from 'better-sqlite3';
import mqtt, { type MqttClient } from 'mqtt';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMosquitto, type MosquittoInstance } from '../helpers/mosquitto.js';
import { waitUntil } from '../helpers/wait.js';

/*
 * A valid message whose database write fails must not be acknowledged: the server drops its broker
 * connection instead of sending the PUBACKs, and the broker (persistent session) delivers the batch
 * again. The failure is real: another connection holds SQLite's write lock past the busy timeout.
 */
describe('ingest acknowledges only what it stored (external broker)', () => {
  const work = mkdtempSync(join(tmpdir(), 'portail-ingest-ack-'));
  let broker: MosquittoInstance;
  let server: ControlServer;
  let agent: MqttClient;

  beforeAll(async () => {
    broker = await startMosquitto('max_queued_messages 10000');
    server = await startControlServer(
      makeConfig({
        dataDir: work,
        http: { host: '127.0.0.1', port: 0 },
        mqtt: { mode: 'external', url: broker.url, clientId: `portail-ack-${process.pid}` },
        consoleDir: work,
        auth: { mode: 'disabled' },
        log: { level: 'silent' },
      }),
      { logger: pino({ level: 'silent' }) },
    );
    agent = await mqtt.connectAsync(broker.url, { clientId: 'ack-agent', protocolVersion: 4, reconnectPeriod: 0 });
  }, 30_000);

  afterAll(async () => {
    await agent?.endAsync();
    await server?.close();
    await broker?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('does not acknowledge a batch it could not store, and stores it once when it comes again', async () => {
    const locker = new Database(join(work, 'portail.sqlite'));
    locker.pragma('busy_timeout = 0');
    locker.exec('BEGIN IMMEDIATE');
    const ids: string[] = [];
    try {
      for (let i = 0; i < 5; i++) {
        const e = { id: newEventId(), v: 1 as const, site: 'lycee-a', agent: 'gate-1', camera: 'entrance', ts: new Date().toISOString(), passageId: `p-${i}`, decision: 'accepted' as const, biometric: false };
        ids.push(e.id);
        // the publisher's PUBACK comes from Mosquitto; what is tested is the server's own acknowledgement
        await agent.publishAsync(buildTopic('access', 'lycee-a', 'gate-1'), encodePayload('access', e), { qos: 1 });
      }
      // the server's write waits for the lock (busy timeout 5 s), fails, and drops its connection
      await waitUntil(() => server.stats().ingest.storeErrors > 0, 'a store error', 20_000);
      expect(server.stats().ingest.stored).toBe(0);
    } finally {
      locker.exec('ROLLBACK');
      locker.close();
    }
    await waitUntil(() => server.stats().ingest.stored === ids.length, 'the batch stored after redelivery', 30_000);
    const db = new Database(join(work, 'portail.sqlite'), { readonly: true });
    try {
      const rows = db.prepare('SELECT id FROM events').all() as Array<{ id: string }>;
      expect(rows.map((r) => r.id).sort()).toEqual([...ids].sort());
    } finally {
      db.close();
    }
    expect(server.stats().ingest.received).toBeGreaterThan(ids.length);
    // back on its session after the dropped connection
    await waitUntil(() => server.stats().mqtt.connected && server.stats().mqtt.subscribed, 'subscribed again', 10_000);
  }, 60_000);
});
