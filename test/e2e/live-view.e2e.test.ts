// The supervisors' live view with accounts required: two supervisors (two browser contexts) of a
// site watch a real agent on the demo hall clip, whose entry line allows only outgoing crossings,
// so the person walking in raises a real wrong-way alert. One supervisor acknowledges it with a
// note: it leaves both queues, and the acknowledgement is in the audit log (read with the real
// `portail-admin audit export`).
import { buildTopic, encodePayload, newEventId, PROTOCOL_VERSION, type AccessEvent } from '@portail/protocol';
import mqtt, { type MqttClient } from 'mqtt';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnAgent, type AgentProcess } from '../helpers/agent-process.js';
import {
  collectPageErrors,
  launchChromium,
  publishScreenshot,
  saveScreenshot,
  type ExpectedHttpError,
} from '../helpers/browser.js';
import {
  addUser,
  randomPassword,
  runAdminCli,
  startTestServer,
  type TestServer,
  type TestUser,
} from '../helpers/control-server.js';
import { clip } from '../helpers/paths.js';

const SITE = 'e2e-lycee';
const AGENT = 'hall-1';

interface Supervisor {
  user: TestUser;
  context: BrowserContext;
  page: Page;
  errors: string[];
}

describe('live view: two supervisors share one alert queue', () => {
  let t: TestServer;
  let browser: Browser;
  let agent: AgentProcess | undefined;
  let mq: MqttClient | undefined;
  const sup: Supervisor[] = [];
  // the page asks who is logged in before anyone is (nothing else may fail)
  const expected: ExpectedHttpError[] = [{ status: 401, path: '/api/auth/me' }];

  async function openSupervisor(user: TestUser): Promise<Supervisor> {
    const context = await browser.newContext({ locale: 'fr-FR', viewport: { width: 1366, height: 1000 } });
    const page = await context.newPage();
    const errors = collectPageErrors(page, { expected });
    await page.goto(`${t.server.httpUrl}/`);
    await page
      .getByTestId('login-username')
      .waitFor({ timeout: 15_000 })
      .catch(async (err: unknown) => {
        const text = await page.locator('body').innerText();
        throw new Error(`no login form; page says: ${text.slice(0, 500)}; errors: ${errors.join(' | ')}`, {
          cause: err,
        });
      });
    await page.getByTestId('login-username').fill(user.username);
    await page.getByTestId('login-password').fill(user.password);
    await page.getByTestId('login-password').press('Enter');
    await page.getByTestId('user-menu').waitFor({ timeout: 15_000 });
    await page.locator('[data-testid="connection-status"][data-state="open"]').waitFor({ timeout: 15_000 });
    // a supervisor lands on the live view
    await page.getByTestId('live-view').waitFor({ timeout: 10_000 });
    return { user, context, page, errors };
  }

  beforeAll(async () => {
    t = await startTestServer({
      authMode: 'required',
      bootstrapAdmin: { username: 'admin', password: randomPassword() },
    });
    const a = await addUser(t.dataDir, { username: 'surveillance-1', role: 'supervisor', site: SITE });
    const b = await addUser(t.dataDir, { username: 'surveillance-2', role: 'supervisor', site: SITE });
    browser = await launchChromium();
    sup.push(await openSupervisor(a), await openSupervisor(b));
  }, 90_000);

  afterAll(async () => {
    for (const s of sup) await s.context.close();
    await browser?.close();
    await agent?.stop('SIGKILL');
    await mq?.endAsync();
    await t?.server.close();
  });

  it('shows the agent’s wrong-way alert to both; one acknowledgement with a note removes it for both', async () => {
    agent = spawnAgent({
      site: SITE,
      agent: AGENT,
      mqtt: { url: t.server.mqttUrl },
      healthIntervalS: 2,
      cameras: [
        {
          id: 'hall',
          url: clip('intel-one-by-one-person-detection.mp4'),
          role: 'tracking',
          maxFps: 10,
          locationType: 'circulation',
          trackingEnabled: true,
          // the person walks in across this line; only going out is allowed
          rules: { lines: [{ id: 'entry', from: [480, 410], to: [150, 410], allowedDirection: 'out' }] },
        },
      ],
    });

    const wrongWay = (p: Page) => p.locator('[data-testid="alert-item"][data-alert-kind="wrong_way"]');
    for (const s of sup) {
      await wrongWay(s.page)
        .first()
        .waitFor({ timeout: 120_000 })
        .catch((err: unknown) => {
          throw new Error(`no wrong-way alert for ${s.user.username}; agent output:\n${agent?.output().slice(-3000)}`, {
            cause: err,
          });
        });
    }
    const [a, b] = [sup[0]!, sup[1]!];
    const alertId = (await wrongWay(a.page).first().getAttribute('data-alert-id'))!;
    expect(alertId).toMatch(/^[0-9a-f-]{36}$/);
    // the same alert, by id, in the other supervisor's queue
    const inB = b.page.locator(`[data-testid="alert-item"][data-alert-id="${alertId}"]`);
    await inB.waitFor();
    expect(await inB.getByTestId('alert-label').innerText()).toBe('Sens interdit');
    expect(await inB.getByTestId('event-rule').innerText()).toBe('ligne entry');
    // an anonymous ephemeral track, nothing about a person
    expect(await inB.getByTestId('event-track').innerText()).toMatch(/^piste [a-z2-7]{16}$/);
    expect(await a.page.locator('#alerts-title').innerText()).toMatch(/^Alertes/);

    // the camera tile: the declared line with its allowed way, and recent anonymous trails drawn over
    // the snapshot (or its placeholder), pushed by the agent on the tracks topic
    const tile = a.page.getByTestId(`camera-tile-${AGENT}-hall`);
    await tile.waitFor();
    await expect
      .poll(() => tile.locator('[data-testid="overlay-line"][data-rule="entry"]').getAttribute('data-allowed'), {
        timeout: 30_000,
      })
      .toBe('out');
    await expect.poll(() => tile.getByTestId('overlay-trail').count(), { timeout: 60_000 }).toBeGreaterThan(0);
    expect(await tile.getByTestId('camera-preview-open').innerText()).toBe('Aperçu en direct');
    // this agent's camera is a clip from its own file, not in the site's registry: no frame to grab,
    // so no snapshot is asked for and the tile says why
    expect(await tile.getByTestId('camera-snapshot-placeholder').innerText()).toBe(
      'Pas d’image : caméra absente du registre du site.',
    );
    // the charts reload shortly after new crossings: the entry line's in and out series since midnight
    await expect
      .poll(() => a.page.getByTestId('chart-line-counts').getAttribute('data-series'), { timeout: 20_000 })
      .toBe('2');
    // passages at the gate (a real MQTT client on the same broker: this clip has no badge in it):
    // per 5 minutes per gate, and the decision times of both lanes side by side
    mq = await mqtt.connectAsync(t.server.mqttUrl, { protocolVersion: 4, clientId: `e2e-live-${process.pid}` });
    const now = Date.now();
    for (let i = 0; i < 6; i++) {
      const biometric = i % 2 === 1;
      const passage: AccessEvent = {
        id: newEventId(),
        v: PROTOCOL_VERSION,
        site: SITE,
        agent: 'gate-1',
        camera: 'entrance',
        ts: new Date(now - (6 - i) * 1_000).toISOString(),
        passageId: `p-live-${i}`,
        credentialId: `c-live-${i}`,
        decision: biometric ? 'confirmed' : 'accepted',
        biometric,
        timingsMs: biometric ? { credential: 2, window: 900 + i * 10, compare: 1 } : { credential: 2 + i },
      };
      await mq.publishAsync(buildTopic('access', SITE, 'gate-1'), encodePayload('access', passage), { qos: 1 });
    }
    await expect
      .poll(() => a.page.getByTestId('chart-passages').getAttribute('data-total'), { timeout: 20_000 })
      .toBe('6');
    await expect
      .poll(() => a.page.getByTestId('decision-medians').innerText(), { timeout: 20_000 })
      .toBe('Médiane : badge seul 4 ms, vérification faciale 933 ms.');
    // French screenshot of the live view with the alert, for the README
    publishScreenshot(await saveScreenshot(a.page, 'live'), 'live');

    // acknowledge in A with a note (keyboard: the note field takes the focus)
    const inA = a.page.locator(`[data-testid="alert-item"][data-alert-id="${alertId}"]`);
    await inA.getByTestId('alert-ack').click();
    await expect.poll(() => a.page.locator('[data-testid="alert-ack-note"]:focus').count()).toBe(1);
    await a.page.keyboard.type('Élève raccompagné vers l’accueil');
    await inA.getByTestId('alert-ack-confirm').click();

    // gone from both queues: A from its own request, B from the server's push
    await expect.poll(() => inA.count(), { timeout: 10_000 }).toBe(0);
    await expect.poll(() => inB.count(), { timeout: 10_000 }).toBe(0);

    // and after a reload, the queue comes from the server: still gone
    await b.page.reload();
    await expect.poll(() => b.page.getByTestId('connection-status').getAttribute('data-state')).toBe('open');
    await b.page.getByTestId('alert-queue').waitFor();
    expect(await b.page.locator(`[data-testid="alert-item"][data-alert-id="${alertId}"]`).count()).toBe(0);
    // the charts, loaded after the crossing: the entry line's in and out series since midnight
    await expect
      .poll(() => b.page.getByTestId('chart-line-counts').getAttribute('data-series'), { timeout: 15_000 })
      .toBe('2');
    expect(await b.page.getByTestId('chart-line-counts').locator('canvas').count()).toBeGreaterThan(0);

    // the acknowledgement is in the audit log, by the supervisor who made it, note length only
    const exported = await runAdminCli(t.dataDir, ['audit', 'export', '--site', SITE]);
    expect(exported.code, exported.stderr).toBe(0);
    const rows = exported.stdout
      .split('\n')
      .filter((l) => l.trim().startsWith('{'))
      .map((l) => JSON.parse(l) as { action: string; actor: string; target: string; details: Record<string, unknown> });
    const ack = rows.filter((r) => r.action === 'alert.ack' && r.target === `alert:${alertId}`);
    expect(ack).toHaveLength(1);
    expect(ack[0]).toMatchObject({ actor: 'surveillance-1', details: { kind: 'wrong_way', noteChars: 32 } });
    expect(JSON.stringify(ack[0])).not.toContain('raccompagné');

    for (const s of sup) expect(s.errors, s.user.username).toEqual([]);
  }, 240_000);
});
