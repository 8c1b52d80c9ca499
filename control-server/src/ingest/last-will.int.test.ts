import path from 'node:path';
import { buildTopic, encodePayload } from '@portail/protocol';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DB_FILE_NAME } from '../store/database.js';
import { makeStatus, waitFor } from '../test-support/fixtures.js';
import {
  connectAgentClient,
  getJson,
  openWs,
  publishValid,
  startHarness,
  type Harness,
} from '../test-support/harness.js';

describe('agent last will', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('marks an agent offline in SQLite and on the WebSocket when it dies without DISCONNECT', async () => {
    const site = 'lycee-a';
    const agentId = 'gate-2';
    const ws = await openWs(h.server.httpUrl);
    const will = makeStatus(site, agentId, { state: 'offline', reason: 'connection_lost' });
    const client = await connectAgentClient(h.server.mqttUrl, {
      clientId: 'agent-gate-2',
      will: {
        topic: buildTopic('status', site, agentId),
        payload: Buffer.from(encodePayload('status', will)),
        qos: 1,
        retain: true,
      },
    });
    await publishValid(client, 'status', makeStatus(site, agentId), true);
    await ws.waitFor((m) => m.type === 'agent' && (m.agent as { state: string }).state === 'online', 'online push');

    // a crash: the socket goes away with no DISCONNECT packet, so the broker publishes the will
    client.stream.destroy();
    const offline = await ws.waitFor(
      (m) => m.type === 'agent' && (m.agent as { state: string }).state === 'offline',
      'offline push',
    );
    expect(offline.agent).toMatchObject({
      site,
      agent: agentId,
      state: 'offline',
      status: { reason: 'connection_lost' },
    });

    const db = new BetterSqlite3(path.join(h.dataDir, DB_FILE_NAME), { readonly: true });
    try {
      const row = db.prepare('SELECT state, last_seen FROM agents WHERE site = ? AND agent = ?').get(site, agentId) as {
        state: string;
        last_seen: string | null;
      };
      expect(row.state).toBe('offline');
      // last seen stays the time the agent itself last spoke
      expect(row.last_seen).not.toBeNull();
    } finally {
      db.close();
    }
    const agents = await getJson<{ agents: Array<{ agent: string; state: string }> }>(h.server.httpUrl, '/api/agents');
    expect(agents.body.agents.find((a) => a.agent === agentId)?.state).toBe('offline');
    const s = await waitFor(async () => {
      const st = (await getJson<{ ingest: { statusUpdates: number } }>(h.server.httpUrl, '/api/stats')).body;
      return st.ingest.statusUpdates >= 2 ? st : undefined;
    }, 'status updates counted');
    expect(s.ingest.statusUpdates).toBe(2);
    await client.endAsync(true);
    await ws.close();
  });
});
