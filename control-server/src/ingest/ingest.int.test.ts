import path from 'node:path';
import { buildTopic, encodePayload, newEventId } from '@portail/protocol';
import BetterSqlite3 from 'better-sqlite3';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DB_FILE_NAME } from '../store/database.js';
import {
  makeAccessEvent,
  makeCameraEvent,
  makeHealth,
  makeMovementEvent,
  makeStatus,
  waitFor,
} from '../test-support/fixtures.js';
import {
  connectAgentClient,
  getJson,
  openWs,
  publishValid,
  type Harness,
  type WsRecorder,
  startHarness,
} from '../test-support/harness.js';
import type { IngestStats, RejectReason } from './ingest-stats.js';

const SITE = 'lycee-a';
const AGENT = 'gate-1';

describe('ingest through the embedded broker', () => {
  let h: Harness;
  let agent: MqttClient;
  let ws: WsRecorder;
  let db: BetterSqlite3.Database;

  const stats = async (): Promise<IngestStats> =>
    (await getJson<{ ingest: IngestStats }>(h.server.httpUrl, '/api/stats')).body.ingest;
  const eventRow = (id: string): { kind: string; site: string; payload: string } | undefined =>
    db.prepare('SELECT kind, site, payload FROM events WHERE id = ?').get(id) as never;

  /** After a reject, the server must still be healthy and still store a valid event. */
  async function expectStillServing(): Promise<void> {
    const health = await getJson<{ ok: boolean }>(h.server.httpUrl, '/healthz');
    expect(health.status).toBe(200);
    expect(health.body.ok).toBe(true);
    const e = makeCameraEvent(SITE, AGENT, { state: 'online', code: 'OK' });
    await publishValid(agent, 'camera', e);
    await waitFor(() => eventRow(e.id), `event ${e.id} in SQLite`);
    await ws.waitFor((m) => m.type === 'event' && (m.event as { id: string }).id === e.id, 'pushed event');
  }

  async function expectRejected(reason: RejectReason, topic: string, payload: string | Buffer): Promise<void> {
    const before = await stats();
    await agent.publishAsync(topic, payload, { qos: 1 });
    const after = await waitFor(async () => {
      const s = await stats();
      return s.rejected[reason] === before.rejected[reason] + 1 ? s : undefined;
    }, `reject counted as ${reason}`);
    expect(after.stored).toBe(before.stored);
    for (const r of Object.keys(before.rejected) as RejectReason[]) {
      if (r !== reason) expect(after.rejected[r]).toBe(before.rejected[r]);
    }
    await expectStillServing();
  }

  beforeAll(async () => {
    h = await startHarness();
    agent = await connectAgentClient(h.server.mqttUrl, { clientId: 'test-agent' });
    ws = await openWs(h.server.httpUrl);
    db = new BetterSqlite3(path.join(h.dataDir, DB_FILE_NAME), { readonly: true });
  });
  afterAll(async () => {
    db?.close();
    await ws?.close();
    await agent?.endAsync();
    await h?.stop();
  });

  it('reports itself healthy with the broker bound to a real port', async () => {
    expect(h.server.mqttPort).toBeGreaterThan(0);
    expect(h.server.httpPort).toBeGreaterThan(0);
    const res = await getJson(h.server.httpUrl, '/healthz');
    expect(res).toEqual({ status: 200, body: { ok: true } });
    const stats = await getJson<{ mqtt: unknown; db: unknown }>(h.server.httpUrl, '/api/stats');
    expect(stats.body.mqtt).toEqual({ mode: 'embedded', connected: true, subscribed: true });
    expect(stats.body.db).toEqual({ ok: true });
    expect(ws.messages[0]).toMatchObject({ type: 'hello', agents: [], events: [] });
  });

  it('stores status, health and events and pushes them over the WebSocket', async () => {
    await publishValid(agent, 'status', makeStatus(SITE, AGENT), true);
    const pushedAgent = await ws.waitFor(
      (m) => m.type === 'agent' && (m.agent as { agent: string }).agent === AGENT,
      'agent push',
    );
    expect(pushedAgent.agent).toMatchObject({ site: SITE, agent: AGENT, state: 'online' });
    const row = db.prepare('SELECT state, status FROM agents WHERE site = ? AND agent = ?').get(SITE, AGENT) as {
      state: string;
      status: string;
    };
    expect(row.state).toBe('online');
    expect(JSON.parse(row.status)).toMatchObject({ version: '0.1.0' });

    const health = makeHealth(SITE, AGENT);
    await publishValid(agent, 'health', health);
    const pushedHealth = await ws.waitFor((m) => m.type === 'health', 'health push');
    expect(pushedHealth).toEqual({ type: 'health', site: SITE, agent: AGENT, health });
    const stored = db.prepare('SELECT health FROM agents WHERE site = ? AND agent = ?').get(SITE, AGENT) as {
      health: string;
    };
    expect(JSON.parse(stored.health)).toEqual(health);

    const cam = makeCameraEvent(SITE, AGENT, { state: 'stalled', code: 'STALLED', reason: 'no frame for 5 s' });
    const access = makeAccessEvent(SITE, AGENT);
    const move = makeMovementEvent(SITE, AGENT);
    await publishValid(agent, 'camera', cam);
    await publishValid(agent, 'access', access);
    await publishValid(agent, 'movement', move);
    for (const [kind, e] of [
      ['camera', cam],
      ['access', access],
      ['movement', move],
    ] as const) {
      const pushed = await ws.waitFor(
        (m) => m.type === 'event' && (m.event as { id: string }).id === e.id,
        `${kind} event push`,
      );
      expect(pushed).toMatchObject({
        type: 'event',
        kind,
        event: { id: e.id, kind, site: SITE, agent: AGENT, payload: e },
      });
      const r = await waitFor(() => eventRow(e.id), `${kind} event row`);
      expect(r.kind).toBe(kind);
      expect(JSON.parse(r.payload)).toEqual(e);
    }

    const agents = await getJson<{ agents: Array<{ agent: string; state: string; health: unknown }> }>(
      h.server.httpUrl,
      '/api/agents',
    );
    expect(agents.body.agents).toEqual([expect.objectContaining({ agent: AGENT, state: 'online', health })]);
    const page = await getJson<{ events: Array<{ id: string }> }>(h.server.httpUrl, '/api/events?kind=access&limit=5');
    expect(page.body.events.map((e) => e.id)).toContain(access.id);
    expect(page.body.events.every((e) => (e as { kind?: string }).kind === 'access')).toBe(true);
  });

  it('sends a hello snapshot with the agents and latest events to a new WebSocket client', async () => {
    const e = makeAccessEvent(SITE, AGENT, { decision: 'accepted', biometric: false });
    await publishValid(agent, 'access', e);
    await waitFor(() => eventRow(e.id), 'event row');
    const late = await openWs(h.server.httpUrl);
    try {
      const hello = await late.waitFor((m) => m.type === 'hello', 'hello');
      expect(hello.agents).toEqual([expect.objectContaining({ site: SITE, agent: AGENT, state: 'online' })]);
      const ids = (hello.events as Array<{ id: string }>).map((x) => x.id);
      expect(ids[0]).toBe(e.id);
    } finally {
      await late.close();
    }
  });

  it('rejects invalid JSON', async () => {
    await expectRejected('invalid_json', buildTopic('access', SITE, AGENT), '{"id": "not closed"');
  });

  it('rejects a payload that fails the schema', async () => {
    const bad = { ...makeAccessEvent(SITE, AGENT), decision: 'maybe' };
    await expectRejected('invalid_schema', buildTopic('access', SITE, AGENT), JSON.stringify(bad));
  });

  it('rejects a payload over 256 KiB before parsing it', async () => {
    const huge = JSON.stringify({ ...makeCameraEvent(SITE, AGENT), reason: 'x'.repeat(300 * 1024) });
    await expectRejected('too_large', buildTopic('camera', SITE, AGENT), huge);
  });

  it('rejects a topic that is not part of the protocol', async () => {
    // deliberately outside the registry: no builder makes this topic
    await expectRejected('unknown_topic', 'portail/v1/lycee-a/gate-1/events/teleport', JSON.stringify({ v: 1 }));
  });

  it("stores an agent's sync acknowledgement, shows it in /api/agents, and ignores the site sync topics", async () => {
    const before = await stats();
    const state = {
      v: 1 as const,
      site: SITE,
      agent: AGENT,
      ts: new Date().toISOString(),
      appliedVersion: 7,
      result: 'applied' as const,
      receivedVersion: 7,
      templateCount: 2,
      revocationCount: 1,
    };
    await publishValid(agent, 'syncState', state);
    await ws.waitFor(
      (m) =>
        m.type === 'agent' &&
        (m.agent as { syncState: { appliedVersion: number } | null }).syncState?.appliedVersion === 7,
      'agent push with its sync state',
    );
    const list = await getJson<{ agents: { agent: string; syncState: unknown }[] }>(h.server.httpUrl, '/api/agents');
    expect(list.body.agents.find((a) => a.agent === AGENT)?.syncState).toEqual(state);
    // the server's own retained site sync comes back through its wildcard: ignored, not rejected
    await agent.publishAsync(`portail/v1/${SITE}/sync/manifest`, '{"v":1}', { qos: 1 });
    await agent.publishAsync(`portail/v1/${SITE}/sync/templates/3`, '', { qos: 1 });
    const after = await waitFor(async () => {
      const s = await stats();
      return s.ignored >= before.ignored + 2 ? s : undefined;
    }, 'site sync topics ignored');
    expect(Object.values(after.rejected)).toEqual(Object.values(before.rejected));
    await expectStillServing();
  });

  it('rejects a payload whose site differs from its topic', async () => {
    const other = makeAccessEvent('lycee-b', AGENT);
    await expectRejected('topic_mismatch', buildTopic('access', SITE, AGENT), encodePayload('access', other));
    expect(eventRow(other.id)).toBeUndefined();
  });

  it('stores a replayed event id once and counts the replay as a duplicate', async () => {
    const before = await stats();
    const e = makeAccessEvent(SITE, AGENT, { id: newEventId(), decision: 'mismatch' });
    await publishValid(agent, 'access', e);
    await publishValid(agent, 'access', e);
    // a later event proves both copies went through ingest (QoS 1, one connection, in order)
    const marker = makeMovementEvent(SITE, AGENT);
    await publishValid(agent, 'movement', marker);
    await ws.waitFor((m) => m.type === 'event' && (m.event as { id: string }).id === marker.id, 'marker push');
    const after = await stats();
    expect(after.duplicates).toBe(before.duplicates + 1);
    expect(after.stored).toBe(before.stored + 2);
    expect(Object.values(after.rejected)).toEqual(Object.values(before.rejected));
    expect((db.prepare('SELECT count(*) AS n FROM events WHERE id = ?').get(e.id) as { n: number }).n).toBe(1);
    const pushes = ws.messages.filter((m) => m.type === 'event' && (m.event as { id: string }).id === e.id);
    expect(pushes).toHaveLength(1);
    await expectStillServing();
  });

  it('pages /api/events with a cursor and validates its query', async () => {
    const first = await getJson<{ events: Array<{ id: string }>; nextBefore: string | null }>(
      h.server.httpUrl,
      '/api/events?limit=2',
    );
    expect(first.body.events).toHaveLength(2);
    expect(first.body.nextBefore).toBe(first.body.events[1]!.id);
    const second = await getJson<{ events: Array<{ id: string }> }>(
      h.server.httpUrl,
      `/api/events?limit=2&before=${first.body.nextBefore}`,
    );
    expect(second.body.events.map((e) => e.id)).not.toContain(first.body.events[0]!.id);
    expect((await getJson(h.server.httpUrl, '/api/events?kind=frames')).status).toBe(400);
    expect((await getJson(h.server.httpUrl, '/api/events?limit=0')).status).toBe(400);
    expect((await getJson(h.server.httpUrl, `/api/events?before=${newEventId()}`)).status).toBe(400);
  });

  it('refuses a WebSocket opened by a page of another origin', async () => {
    await expect(openWs(h.server.httpUrl, { Origin: 'http://evil.example' })).rejects.toThrow(/403/);
    const same = await openWs(h.server.httpUrl, { Origin: h.server.httpUrl });
    await same.close();
  });
});
