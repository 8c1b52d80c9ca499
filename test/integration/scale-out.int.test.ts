import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildTopic, encodePayload, newEventId, type AccessEvent, type MovementEvent } from '@portail/protocol';
import { makeConfig, startControlServer, type ControlServer } from '@portail/control-server';
import Database from 'better-sqlite3';
import mqtt, { type MqttClient } from 'mqtt';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMosquitto, type MosquittoInstance } from '../helpers/mosquitto.js';
import { waitUntil } from '../helpers/wait.js';

/*
 * Scale-out (issue #9): two control-server instances behind one Mosquitto, each owning a set of
 * sites (`sites`) and subscribing with MQTT shared subscriptions (`mqtt.sharedGroup`), each with its
 * own SQLite. Every event must be stored exactly once across the two, in the instance owning its
 * site; a site both instances own (a failover pair) is split by the broker, still once in all.
 */

const OWNED_A = ['lycee-a', 'lycee-c', 'lycee-d'];
const OWNED_B = ['lycee-b', 'lycee-d'];
const PER_SITE = 40;

function access(site: string, agent: string): AccessEvent {
  return {
    id: newEventId(),
    v: 1,
    site,
    agent,
    camera: 'entrance',
    ts: new Date().toISOString(),
    passageId: 'p-1',
    credentialId: 'cabcdefgh',
    decision: 'confirmed',
    biometric: true,
  };
}

function movement(site: string, agent: string): MovementEvent {
  return { id: newEventId(), v: 1, site, agent, camera: 'hall', ts: new Date().toISOString(), kind: 'line_crossing', rule: 'entry', trackId: 'abcdefghijklmnop', direction: 'in' };
}

describe('scale-out: two instances sharing sites behind Mosquitto', () => {
  let broker: MosquittoInstance;
  const work = mkdtempSync(join(tmpdir(), 'portail-scale-out-'));
  const servers: ControlServer[] = [];
  const dirs = [join(work, 'a'), join(work, 'b')];
  let agent: MqttClient;

  beforeAll(async () => {
    broker = await startMosquitto(['max_queued_messages 100000', 'max_inflight_messages 100'].join('\n'));
    for (const [i, sites] of [OWNED_A, OWNED_B].entries()) {
      servers.push(
        await startControlServer(
          makeConfig({
            dataDir: dirs[i]!,
            http: { host: '127.0.0.1', port: 0 },
            mqtt: { mode: 'external', url: broker.url, clientId: `portail-scale-${i}-${process.pid}`, sharedGroup: 'portail' },
            sites,
            consoleDir: work,
            auth: { mode: 'disabled' },
            log: { level: 'silent' },
          }),
          { logger: pino({ level: 'silent' }) },
        ),
      );
    }
    agent = await mqtt.connectAsync(broker.url, { clientId: 'scale-agent', protocolVersion: 4, reconnectPeriod: 0 });
  }, 60_000);

  afterAll(async () => {
    await agent?.endAsync();
    for (const s of servers) await s.close();
    await broker?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('subscribes each instance to its own sites only, through the shared group', () => {
    for (const s of servers) expect(s.stats().mqtt).toMatchObject({ mode: 'external', connected: true, subscribed: true });
  });

  it('stores every event exactly once across the instances, in the one owning its site', async () => {
    const sites = ['lycee-a', 'lycee-b', 'lycee-c', 'lycee-d'];
    const sent = new Map<string, string>();
    for (const site of sites) {
      for (let i = 0; i < PER_SITE; i++) {
        const e = i % 2 ? access(site, 'gate-1') : movement(site, 'gate-1');
        const key = i % 2 ? 'access' : 'movement';
        sent.set(e.id, site);
        await agent.publishAsync(buildTopic(key, site, 'gate-1'), encodePayload(key, e as never), { qos: 1 });
      }
    }
    // an event of a site nobody owns: nobody stores it
    const stray = access('lycee-z', 'gate-1');
    await agent.publishAsync(buildTopic('access', 'lycee-z', 'gate-1'), encodePayload('access', stray), { qos: 1 });

    await waitUntil(
      () => servers.reduce((a, s) => a + s.stats().ingest.stored, 0) >= sent.size,
      'every event stored by one of the instances',
      20_000,
    );
    const rows = dirs.map((d) => {
      const db = new Database(join(d, 'portail.sqlite'), { readonly: true });
      try {
        return db.prepare('SELECT id, site FROM events').all() as Array<{ id: string; site: string }>;
      } finally {
        db.close();
      }
    });
    const all = [...rows[0]!, ...rows[1]!];
    // exactly once across the two
    expect(all).toHaveLength(sent.size);
    expect(new Set(all.map((r) => r.id)).size).toBe(sent.size);
    for (const r of all) expect(sent.get(r.id)).toBe(r.site);
    // each in an instance owning its site
    for (const r of rows[0]!) expect(OWNED_A).toContain(r.site);
    for (const r of rows[1]!) expect(OWNED_B).toContain(r.site);
    const count = (i: number, site: string): number => rows[i]!.filter((r) => r.site === site).length;
    expect(count(0, 'lycee-a')).toBe(PER_SITE);
    expect(count(0, 'lycee-c')).toBe(PER_SITE);
    expect(count(1, 'lycee-b')).toBe(PER_SITE);
    // the shared site: split by the broker between the two members of the group, stored once in all
    expect(count(0, 'lycee-d') + count(1, 'lycee-d')).toBe(PER_SITE);
    expect(all.some((r) => r.id === stray.id)).toBe(false);
    for (const s of servers) {
      expect(s.stats().ingest.duplicates).toBe(0);
      expect(s.stats().ingest.storeErrors).toBe(0);
    }
  }, 60_000);

  it('serves only its own sites over HTTP', async () => {
    for (const [i, owned] of [OWNED_A, OWNED_B].entries()) {
      const res = await fetch(`${servers[i]!.httpUrl}/api/events?limit=500`);
      expect(res.status).toBe(200);
      const body = (await res.json()) as { events: Array<{ site: string }> };
      expect(body.events.length).toBeGreaterThan(0);
      for (const e of body.events) expect(owned).toContain(e.site);
    }
  });
});
