import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { makeAccessEvent, makeStatus, makeTempDir, waitFor } from '../test-support/fixtures.js';
import { connectAgentClient, openWs, publishValid, startHarness, type Harness } from '../test-support/harness.js';

/** The real server (HTTP + embedded broker + SQLite) with auth required, driven over the network. */
describe('auth over real HTTP, MQTT and WebSocket', () => {
  let h: Harness;
  let agent: MqttClient;
  const secrets = makeTempDir('portail-secrets-');
  const ADMIN_PASSWORD = 'bootstrap admin passphrase';

  beforeAll(async () => {
    const pwFile = path.join(secrets.dir, 'admin.password');
    writeFileSync(pwFile, `${ADMIN_PASSWORD}\n`, { mode: 0o600 });
    h = await startHarness({ authMode: 'required', env: { PORTAIL_BOOTSTRAP_ADMIN: `dsi:${pwFile}` } });
    agent = await connectAgentClient(h.server.mqttUrl, { clientId: 'auth-int-agent' });
  });
  afterAll(async () => {
    await agent?.endAsync();
    await h?.stop();
    secrets.remove();
  });

  async function loginHttp(username: string, password: string): Promise<{ cookie: string; csrf: string }> {
    const res = await fetch(`${h.server.httpUrl}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username, password }),
    });
    expect(res.status).toBe(200);
    const setCookie = res.headers.get('set-cookie')!;
    expect(setCookie).toMatch(/HttpOnly/i);
    expect(setCookie).toMatch(/SameSite=Strict/i);
    const cookie = /^(portail_session=[^;]+)/.exec(setCookie)![1]!;
    return { cookie, csrf: ((await res.json()) as { csrfToken: string }).csrfToken };
  }

  it('lets the bootstrap admin in, who creates a reception account; the live feed of each is scoped', async () => {
    expect((await fetch(`${h.server.httpUrl}/api/agents`)).status).toBe(401);
    // without a session the upgrade is accepted and closed with 1008: a browser reads the reason (not 1006)
    const anon = new WebSocket(`${h.server.httpUrl.replace(/^http/, 'ws')}/ws`);
    const [closeCode, closeReason] = await new Promise<[number, string]>((resolve, reject) => {
      anon.once('close', (c: number, r: Buffer) => resolve([c, r.toString('utf8')]));
      anon.once('error', reject);
    });
    expect([closeCode, closeReason]).toEqual([1008, 'UNAUTHENTICATED']);

    const admin = await loginHttp('dsi', ADMIN_PASSWORD);
    const created = await fetch(`${h.server.httpUrl}/api/users`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        cookie: admin.cookie,
        'x-csrf-token': admin.csrf,
        origin: h.server.httpUrl,
      },
      body: JSON.stringify({
        username: 'accueil-s1',
        password: 'gate desk passphrase',
        roles: [{ role: 'reception', site: 's1' }],
      }),
    });
    expect(created.status).toBe(201);

    const reception = await loginHttp('accueil-s1', 'gate desk passphrase');
    const recWs = await openWs(h.server.httpUrl, { cookie: reception.cookie });
    const adminWs = await openWs(h.server.httpUrl, { cookie: admin.cookie });
    await recWs.waitFor((m) => m.type === 'hello', 'reception hello');

    await publishValid(agent, 'status', makeStatus('s2', 'gate-9'), true);
    await publishValid(agent, 'status', makeStatus('s1', 'gate-1'), true);
    const s2Access = makeAccessEvent('s2', 'gate-9');
    const s1Access = makeAccessEvent('s1', 'gate-1');
    await publishValid(agent, 'access', s2Access);
    await publishValid(agent, 'access', s1Access);

    await recWs.waitFor((m) => m.type === 'event' && (m.event as { id: string }).id === s1Access.id, 's1 access event');
    // regional IT (global) sees agents everywhere but no access event at all
    await adminWs.waitFor((m) => m.type === 'agent' && (m.agent as { site: string }).site === 's2', 's2 agent');
    const recSites = recWs.messages.flatMap((m) =>
      m.type === 'agent'
        ? [(m.agent as { site: string }).site]
        : m.type === 'event'
          ? [(m.event as { site: string }).site]
          : [],
    );
    expect(new Set(recSites)).toEqual(new Set(['s1']));
    expect(adminWs.messages.some((m) => m.type === 'event' && (m.event as { kind: string }).kind === 'access')).toBe(
      false,
    );

    // logging out closes that session's live feed
    const closed = new Promise<number>((resolve) => recWs.socket.once('close', (code: number) => resolve(code)));
    const out = await fetch(`${h.server.httpUrl}/api/auth/logout`, {
      method: 'POST',
      headers: { cookie: reception.cookie, 'x-csrf-token': reception.csrf },
    });
    expect(out.status).toBe(204);
    expect(await closed).toBe(1008);
    expect(adminWs.socket.readyState).toBe(WebSocket.OPEN);
    await adminWs.close();

    // the reads of personal data and the admin actions are in the audit log
    const { default: Database } = await import('better-sqlite3');
    const db = new Database(path.join(h.dataDir, 'portail.sqlite'), { readonly: true });
    const actions = (
      db.prepare('SELECT actor, action, site FROM audit_log ORDER BY seq').all() as Array<{
        actor: string;
        action: string;
        site: string | null;
      }>
    ).map((r) => `${r.actor} ${r.action} ${r.site ?? '-'}`);
    db.close();
    expect(actions).toEqual(
      expect.arrayContaining([
        'system user.bootstrap *',
        'dsi user.create s1',
        'accueil-s1 live.subscribe s1',
        'dsi live.subscribe *',
        'accueil-s1 auth.logout -',
      ]),
    );
    await waitFor(() => (h.server.stats().ws.clients === 0 ? true : undefined), 'ws clients gone');
  });
});
