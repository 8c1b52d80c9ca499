import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildTopic, encodePayload, newEventId, type AccessEvent } from '@portail/protocol';
import { makeConfig, startControlServer, type ControlServer } from '@portail/control-server';
import mqtt, { type MqttClient } from 'mqtt';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mosquittoBridgeConfig, startMosquittoWith, type MosquittoInstance } from '../helpers/mosquitto.js';
import { waitUntil } from '../helpers/wait.js';

/*
 * Regional deployment with bridged Mosquittos (docs/deploy-region.md): two site brokers, each
 * bridged to a regional broker (agents' topics out, the server's configuration and site sync in),
 * and one control server subscribed to the regional broker. Events of both sites arrive; a site
 * broker going down does not stop the other site's events; the dead site's events flow again once
 * its broker is back.
 */

const SITES = ['lycee-a', 'lycee-b'] as const;

const base = (port: number): string =>
  [`listener ${port} 127.0.0.1`, 'allow_anonymous true', 'persistence false', 'user root', 'max_queued_messages 100000', ''].join('\n');

function siteBridge(site: string, regionalPort: number): string {
  return mosquittoBridgeConfig({
    name: `bridge-${site}`,
    remotePort: regionalPort,
    // only this site's agent topics go up; the server's retained configuration and site sync come down
    out: [
      [`portail/v1/${site}/+/status`, 1],
      [`portail/v1/${site}/+/health`, 0],
      [`portail/v1/${site}/+/events/#`, 1],
      [`portail/v1/${site}/+/config/state`, 1],
      [`portail/v1/${site}/+/sync/state`, 1],
    ],
    in: [
      [`portail/v1/${site}/+/config`, 1],
      [`portail/v1/${site}/sync/#`, 1],
    ],
  });
}

function access(site: string): AccessEvent {
  return {
    id: newEventId(),
    v: 1,
    site,
    agent: 'gate-1',
    camera: 'entrance',
    ts: new Date().toISOString(),
    passageId: 'p-1',
    decision: 'accepted',
    biometric: false,
  };
}

describe('bridged site brokers to a regional broker', () => {
  const work = mkdtempSync(join(tmpdir(), 'portail-bridging-'));
  let regional: MosquittoInstance;
  const siteBrokers = new Map<string, MosquittoInstance>();
  const agents = new Map<string, MqttClient>();
  let server: ControlServer;
  const stored = new Set<string>();

  async function connectAgent(site: string): Promise<MqttClient> {
    const c = await mqtt.connectAsync(siteBrokers.get(site)!.url, { clientId: `agent-${site}`, protocolVersion: 4, reconnectPeriod: 0 });
    // a broker killed under it is part of the test
    c.on('error', () => undefined);
    agents.set(site, c);
    return c;
  }

  const storedIds = async (): Promise<Set<string>> => {
    const res = await fetch(`${server.httpUrl}/api/events?limit=500`);
    const body = (await res.json()) as { events: Array<{ id: string }> };
    for (const e of body.events) stored.add(e.id);
    return stored;
  };

  /** Publish on a site broker until one event went through the bridge (bridges connect asynchronously). */
  async function untilBridged(site: string): Promise<void> {
    await waitUntil(
      async () => {
        const e = access(site);
        await agents.get(site)!.publishAsync(buildTopic('access', site, 'gate-1'), encodePayload('access', e), { qos: 1 });
        return waitUntil(async () => (await storedIds()).has(e.id), `${site} event through the bridge`, 1_500, 50).catch(() => false);
      },
      `bridge of ${site} up`,
      20_000,
      0,
    );
  }

  async function publishBatch(site: string, n: number): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const e = access(site);
      ids.push(e.id);
      await agents.get(site)!.publishAsync(buildTopic('access', site, 'gate-1'), encodePayload('access', e), { qos: 1 });
    }
    return ids;
  }

  beforeAll(async () => {
    regional = await startMosquittoWith(base);
    for (const site of SITES) {
      siteBrokers.set(site, await startMosquittoWith((port) => base(port) + siteBridge(site, regional.port)));
    }
    server = await startControlServer(
      makeConfig({
        dataDir: join(work, 'server'),
        http: { host: '127.0.0.1', port: 0 },
        mqtt: { mode: 'external', url: regional.url, clientId: `portail-regional-${process.pid}` },
        consoleDir: work,
        auth: { mode: 'disabled' },
        log: { level: 'silent' },
      }),
      { logger: pino({ level: 'silent' }) },
    );
    for (const site of SITES) await connectAgent(site);
  }, 60_000);

  afterAll(async () => {
    for (const c of agents.values()) await c.endAsync(true).catch(() => undefined);
    await server?.close();
    for (const b of siteBrokers.values()) await b.stop();
    await regional?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('brings the events of both sites to the server subscribed regionally', async () => {
    for (const site of SITES) await untilBridged(site);
    const a = await publishBatch('lycee-a', 20);
    const b = await publishBatch('lycee-b', 20);
    await waitUntil(async () => {
      const ids = await storedIds();
      return [...a, ...b].every((id) => ids.has(id));
    }, 'both sites\' events stored', 15_000);
    expect(server.stats().ingest.rejected).toMatchObject({ unknown_topic: 0, invalid_schema: 0, topic_mismatch: 0 });
  }, 60_000);

  it('carries the server\'s retained configuration down to the right site only', async () => {
    const downA: string[] = [];
    const downB: string[] = [];
    const listenA = await mqtt.connectAsync(siteBrokers.get('lycee-a')!.url, { clientId: 'listen-a', protocolVersion: 4 });
    const listenB = await mqtt.connectAsync(siteBrokers.get('lycee-b')!.url, { clientId: 'listen-b', protocolVersion: 4 });
    try {
      listenA.on('message', (t) => downA.push(t));
      listenB.on('message', (t) => downB.push(t));
      await listenA.subscribeAsync('portail/v1/+/+/config', { qos: 1 });
      await listenB.subscribeAsync('portail/v1/+/+/config', { qos: 1 });
      const pub = await mqtt.connectAsync(regional.url, { clientId: 'regional-publisher', protocolVersion: 4 });
      const topic = buildTopic('config', 'lycee-b', 'gate-1');
      const cfg = encodePayload('config', { v: 1, site: 'lycee-b', agent: 'gate-1', ts: new Date().toISOString(), configVersion: 1, cameras: [], thresholds: {} });
      await pub.publishAsync(topic, cfg, { qos: 1, retain: true });
      await waitUntil(() => downB.includes(topic), 'config bridged down to lycee-b', 10_000);
      // clear the retained message again, so nothing of this test stays on the regional broker
      await pub.publishAsync(topic, '', { qos: 1, retain: true });
      await pub.endAsync();
      expect(downA).not.toContain(topic);
    } finally {
      await listenA.endAsync();
      await listenB.endAsync();
    }
  }, 30_000);

  it('keeps the other site flowing when one site broker is down, and resumes the dead one when it is back', async () => {
    await siteBrokers.get('lycee-a')!.kill('SIGKILL');
    const b = await publishBatch('lycee-b', 30);
    await waitUntil(async () => {
      const ids = await storedIds();
      return b.every((id) => ids.has(id));
    }, 'lycee-b events while lycee-a is down', 15_000);
    expect(server.stats().mqtt).toMatchObject({ connected: true, subscribed: true });

    await siteBrokers.get('lycee-a')!.restart();
    await agents.get('lycee-a')!.endAsync(true).catch(() => undefined);
    await connectAgent('lycee-a');
    await untilBridged('lycee-a');
    const a = await publishBatch('lycee-a', 10);
    await waitUntil(async () => {
      const ids = await storedIds();
      return a.every((id) => ids.has(id));
    }, 'lycee-a events after its broker is back', 15_000);
    expect(server.stats().ingest.storeErrors).toBe(0);
  }, 90_000);
});
