// The fleet view for regional IT in Chromium, against a real control server (accounts required), a
// real edge agent on a sample clip at one site, and a second site's agent status published over the
// server's broker. The site's registry holds made-up students: none of their names may appear.
import {
  buildTopic,
  encodePayload,
  newEventId,
  PROTOCOL_VERSION,
  type AccessEvent,
  type Health,
  type MovementEvent,
  type Status,
} from '@portail/protocol';
import mqtt, { type MqttClient } from 'mqtt';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importRegistry } from '../../control-server/src/people/registry-import.js';
import { openDatabase } from '../../control-server/src/store/database.js';
import { spawnAgent, type AgentProcess } from '../helpers/agent-process.js';
import {
  collectPageErrors,
  launchChromium,
  publishScreenshot,
  saveScreenshot,
  type ExpectedHttpError,
} from '../helpers/browser.js';
import { randomPassword, startTestServer, type TestServer, type TestUser } from '../helpers/control-server.js';
import { clip } from '../helpers/paths.js';
import { waitUntil } from '../helpers/wait.js';

const SITE = 'lycee-nord';
const OTHER_SITE = 'lycee-sud';
const ME_401: ExpectedHttpError = { status: 401, path: '/api/auth/me' };
// made-up registry entries, distinctive enough that none can appear by chance
const PEOPLE = [
  { id: 'F900001', last: 'Quelmoravec', first: 'Zéphyrine', cls: 'TERMINALE-ORION' },
  { id: 'F900002', last: 'Brocéliandier', first: 'Anatoline', cls: 'PREMIERE-LYRAE' },
] as const;

describe('fleet view: regional IT sees every site and agent, live, and no student data', () => {
  let t: TestServer;
  let browser: Browser;
  let page: Page;
  let errors: string[];
  let agent: AgentProcess | undefined;
  let mq: MqttClient;
  const admin: TestUser = { username: 'admin', password: randomPassword() };

  const publish = async (
    key: 'status' | 'health' | 'access' | 'movement',
    site: string,
    agentId: string,
    payload: unknown,
  ) =>
    mq.publishAsync(buildTopic(key, site, agentId), encodePayload(key, payload as never), {
      qos: 1,
      retain: key === 'status',
    });
  const envelope = (site: string, agentId: string, camera: string) =>
    ({ id: newEventId(), v: PROTOCOL_VERSION, site, agent: agentId, camera, ts: new Date().toISOString() }) as const;
  const otherHealth = (fps: number): Health => ({
    v: PROTOCOL_VERSION,
    site: OTHER_SITE,
    agent: 'gate-9',
    ts: new Date().toISOString(),
    intervalS: 5,
    uptimeS: 60,
    cameras: [{ id: 'entrance', state: 'online', fps, framesIn: 100, framesProcessed: 90, framesDropped: 10 }],
    detectors: [],
    stages: { frame: { p50Ms: 40, p95Ms: 85, count: 40 } },
    outboxDepth: 12,
  });

  beforeAll(async () => {
    t = await startTestServer({ authMode: 'required', bootstrapAdmin: admin });
    // the registry of the first site, as portail-admin would import it
    const db = openDatabase({ dataDir: t.dataDir });
    try {
      const csv = [
        'Identifiant élève;Nom;Prénom;Division;Date de naissance',
        ...PEOPLE.map((p) => `${p.id};${p.last};${p.first};${p.cls};14/03/2006`),
      ].join('\r\n');
      expect(importRegistry(db, { site: SITE, bytes: new TextEncoder().encode(`${csv}\r\n`), actor: 'test' }).ok).toBe(
        true,
      );
    } finally {
      db.close();
    }
    mq = await mqtt.connectAsync(t.server.mqttUrl, { protocolVersion: 4, clientId: `e2e-fleet-${process.pid}` });
    const other: Status = {
      v: PROTOCOL_VERSION,
      site: OTHER_SITE,
      agent: 'gate-9',
      state: 'online',
      ts: new Date().toISOString(),
      reason: 'started',
      version: '0.1.0-e2e',
      cameras: [{ id: 'entrance', role: 'gate', state: 'online' }],
    };
    await publish('status', OTHER_SITE, 'gate-9', other);
    await publish('health', OTHER_SITE, 'gate-9', otherHealth(4));
    // alerts of the last hour at the first site: a tailgating, a face mismatch (a credential id, never a name)
    const tailgating: MovementEvent = {
      ...envelope(SITE, 'gate-1', 'entrance'),
      kind: 'tailgating',
      rule: 'entry',
      excess: 1,
    };
    const mismatch: AccessEvent = {
      ...envelope(SITE, 'gate-1', 'entrance'),
      passageId: 'p-fleet-1',
      credentialId: 'c-fleet-1',
      decision: 'mismatch',
      biometric: true,
    };
    await publish('movement', SITE, 'gate-1', tailgating);
    await publish('access', SITE, 'gate-1', mismatch);
    // a real agent at the first site
    agent = spawnAgent({
      site: SITE,
      agent: 'gate-1',
      mqtt: { url: t.server.mqttUrl },
      healthIntervalS: 1,
      vision: { person: { enabled: false } },
      cameras: [
        { id: 'entrance', url: clip('intel-one-by-one-person-detection.mp4'), role: 'gate', loop: true, maxFps: 5 },
      ],
    });
    await waitUntil(
      async () => {
        const st = t.server.stats().ingest;
        return st.stored >= 2 && st.statusUpdates >= 2;
      },
      'the server to store the alerts and both statuses',
      30_000,
    );
    browser = await launchChromium();
    page = await browser.newPage({ locale: 'fr-FR', viewport: { width: 1400, height: 900 } });
    errors = collectPageErrors(page, { expected: [ME_401] });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await agent?.stop('SIGTERM');
    await mq?.endAsync();
    await t?.server.close();
  });

  it('lands on the fleet view with both sites, live agent figures, alerts per site, and no name anywhere', async () => {
    await page.goto(`${t.server.httpUrl}/`);
    await page.getByTestId('login-username').fill(admin.username);
    await page.getByTestId('login-password').fill(admin.password);
    await page.getByTestId('login-password').press('Enter');
    await page.getByTestId('fleet-view').waitFor({ timeout: 15_000 });
    expect(await page.locator('html').getAttribute('lang')).toBe('fr');

    const ours = page.getByTestId(`fleet-agent-${SITE}-gate-1`);
    await ours.waitFor({ timeout: 60_000 }).catch((err: unknown) => {
      throw new Error(`agent not in the fleet; agent output:\n${agent?.output().slice(-3000)}`, { cause: err });
    });
    await expect
      .poll(() => ours.getByTestId('fleet-agent-state').getAttribute('data-state'), { timeout: 60_000 })
      .toBe('online');
    // health of the real agent arrives over the socket: a measured frame rate
    await expect
      .poll(async () => Number((await ours.getByTestId('fleet-agent-fps').innerText()).replace(',', '.')), {
        timeout: 60_000,
      })
      .toBeGreaterThan(0);
    const other = page.getByTestId(`fleet-agent-${OTHER_SITE}-gate-9`);
    await other.waitFor();
    expect(await other.getByTestId('fleet-agent-fps').innerText()).toBe('4');

    // per-site cards: agents online, alerts of the last hour by kind
    const site = page.getByTestId(`fleet-site-${SITE}`);
    await expect.poll(() => site.getByTestId('fleet-site-agents').innerText()).toBe('1 / 1');
    const alerts = await site.getByTestId('fleet-site-alerts').innerText();
    expect(alerts).toContain('talonnage 1');
    expect(alerts).toContain('visage différent 1');
    expect(await page.getByTestId(`fleet-site-${OTHER_SITE}`).getByTestId('fleet-site-alerts').innerText()).toBe(
      'aucune',
    );

    // live: a new health of the other site's agent changes its row without a reload
    await publish('health', OTHER_SITE, 'gate-9', otherHealth(7.5));
    await expect.poll(() => other.getByTestId('fleet-agent-fps').innerText(), { timeout: 10_000 }).toBe('7,5');

    // no student data: names, first names, classes or external ids appear nowhere in the page
    const text = await page.locator('body').innerText();
    for (const p of PEOPLE) for (const v of [p.last, p.first, p.cls, p.id]) expect(text).not.toContain(v);
    expect(text).not.toContain('c-fleet-1');

    publishScreenshot(await saveScreenshot(page, 'fleet'), 'fleet');
    expect(errors).toEqual([]);
  }, 150_000);
});
