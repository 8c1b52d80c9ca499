import {
  buildTopic,
  encodePayload,
  newEventId,
  PROTOCOL_VERSION,
  type AccessEvent,
  type MovementEvent,
} from '@portail/protocol';
import mqtt, { type MqttClient } from 'mqtt';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnAgent, type AgentProcess } from '../helpers/agent-process.js';
import { collectPageErrors, launchChromium, saveScreenshot } from '../helpers/browser.js';
import { startTestServer, type TestServer } from '../helpers/control-server.js';
import { clip } from '../helpers/paths.js';

const SITE = 'e2e-lycee';
const AGENT = 'hall-1';

describe('console in Chromium: line counts and alerts', () => {
  let t: TestServer;
  let browser: Browser;
  let page: Page;
  let errors: string[];
  let agent: AgentProcess | undefined;
  let mq: MqttClient | undefined;

  beforeAll(async () => {
    t = await startTestServer();
    browser = await launchChromium();
    page = await browser.newPage({ locale: 'fr-FR', viewport: { width: 1280, height: 900 } });
    errors = collectPageErrors(page);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await agent?.stop('SIGKILL');
    await mq?.endAsync();
    await t?.server.close();
  });

  it('counts the person crossing the entry line as it happens, in French', async () => {
    await page.goto(`${t.server.httpUrl}/`);
    await expect.poll(() => page.locator('html').getAttribute('lang')).toBe('fr');
    await expect.poll(() => page.getByTestId('connection-status').getAttribute('data-state')).toBe('open');
    // nothing counted yet: whatever shows up next arrives live over the socket, not in the first snapshot
    await expect.poll(() => page.getByTestId('line-counts-empty').innerText()).toBe('Aucun comptage pour l’instant.');
    expect(await page.locator('#counts-title').innerText()).toBe('Comptages');

    // a real agent on a real clip: one person walks in from under the camera across the entry line
    agent = spawnAgent({
      site: SITE,
      agent: AGENT,
      mqtt: { url: t.server.mqttUrl },
      cameras: [
        {
          id: 'hall',
          url: clip('intel-one-by-one-person-detection.mp4'),
          role: 'tracking',
          maxFps: 10,
          locationType: 'circulation',
          trackingEnabled: true,
          rules: { lines: [{ id: 'entry', from: [480, 410], to: [150, 410] }] },
        },
      ],
    });

    const row = page.getByTestId(`line-count-${SITE}-${AGENT}-hall-entry`);
    await row.waitFor({ timeout: 90_000 }).catch((err: unknown) => {
      throw new Error(`no line count row; agent output:\n${agent?.output().slice(-3000)}`, { cause: err });
    });
    await expect
      .poll(async () => Number(await row.getAttribute('data-in')), { timeout: 30_000 })
      .toBeGreaterThanOrEqual(1);
    const shownIn = Number(await row.getAttribute('data-in'));
    expect(await row.getByTestId('line-count-in').innerText()).toBe(String(shownIn));
    expect(Number(await row.getAttribute('data-out'))).toBeGreaterThanOrEqual(0);

    // the crossing itself is in the event list, readable, and is not an alert
    const crossing = page.locator('[data-testid="event-row"]', {
      has: page.locator('[data-movement="line_crossing"]'),
    });
    await expect.poll(() => crossing.count(), { timeout: 30_000 }).toBeGreaterThan(0);
    const first = crossing.first();
    expect(await first.getByTestId('event-movement-kind').innerText()).toBe('franchissement de ligne');
    expect(await first.getByTestId('event-rule').innerText()).toBe('ligne entry');
    expect(await first.getByTestId('event-direction').innerText()).toMatch(/^sens : (entrée|sortie)$/);
    expect(await first.getByTestId('event-track').innerText()).toMatch(/^piste [a-z2-7]{16}$/);
    // no alert about people (the clip ending may take the camera offline: an equipment alert)
    expect(await page.getByTestId('alert-section-people').getByTestId('alert-item').count()).toBe(0);
    expect(errors).toEqual([]);
  }, 180_000);

  it('queues a tailgating alert and a face mismatch published over MQTT, newest first', async () => {
    // the real agent would need a gate clip with two people behind one badge: a schema-valid event
    // from a real MQTT client goes through the same broker, ingest, database and socket instead
    mq = await mqtt.connectAsync(t.server.mqttUrl, { protocolVersion: 4, clientId: `e2e-publisher-${process.pid}` });
    const now = Date.now();
    const envelope = (camera: string, tsMs: number) =>
      ({
        id: newEventId(),
        v: PROTOCOL_VERSION,
        site: SITE,
        agent: 'gate-2',
        camera,
        ts: new Date(tsMs).toISOString(),
      }) as const;
    const mismatch: AccessEvent = {
      ...envelope('entrance', now - 2_000),
      passageId: 'p-e2e-1',
      credentialId: 'c-5k2m9q',
      decision: 'mismatch',
      biometric: true,
      scores: { similarity: 0.08, threshold: 0.36 },
    };
    const tailgating: MovementEvent = {
      ...envelope('hall', now),
      kind: 'tailgating',
      rule: 'gate-tailgating',
      trackId: 'k2v7k2v7k2v7k2v7',
      excess: 2,
    };
    await mq.publishAsync(buildTopic('access', SITE, 'gate-2'), encodePayload('access', mismatch), { qos: 1 });
    await mq.publishAsync(buildTopic('movement', SITE, 'gate-2'), encodePayload('movement', tailgating), { qos: 1 });

    // alerts about people; the equipment section may hold the camera going offline at the clip's end
    const items = page.getByTestId('alert-section-people').getByTestId('alert-item');
    await expect.poll(() => items.count(), { timeout: 30_000 }).toBe(2);
    expect(await items.nth(0).getAttribute('data-event-id')).toBe(tailgating.id);
    expect(await items.nth(0).getByTestId('alert-label').innerText()).toBe(
      'Talonnage : 2 personnes de plus que de badges',
    );
    expect(await items.nth(0).getAttribute('data-severity')).toBe('high');
    expect(await items.nth(1).getAttribute('data-event-id')).toBe(mismatch.id);
    expect(await items.nth(1).getByTestId('alert-label').innerText()).toBe('Visage différent du badge');
    expect(await items.nth(1).getByTestId('event-credential').innerText()).toBe('badge c-5k2m9q');
    expect(await page.getByTestId('alerts-count-people').innerText()).toBe('2');

    // the verdict in the event list: decision label and colour, pseudonymous id, biometric
    const verdict = page.locator(`[data-testid="event-row"][data-event-id="${mismatch.id}"]`);
    expect(await verdict.getByTestId('event-decision').innerText()).toBe('visage différent');
    expect(await verdict.getByTestId('event-decision').getAttribute('data-tone')).toBe('bad');
    expect(await verdict.getByTestId('event-biometric').innerText()).toBe('vérification faciale 1:1');
    expect(await page.locator('img').count()).toBe(0);

    const shot = await saveScreenshot(page, 'console-movement');
    expect(shot).toMatch(/console-movement\.png$/);

    // English is the second language, switched in place
    await page.getByTestId('lang-en').click();
    await expect
      .poll(() => items.nth(0).getByTestId('alert-label').innerText())
      .toBe('Tailgating: 2 more people than credentials');
    expect(await page.locator('#counts-title').innerText()).toBe('Line counts');
    await page.getByTestId('lang-fr').click();
    await expect.poll(() => page.locator('#alerts-title').innerText()).toMatch(/^Alertes/);
    expect(errors).toEqual([]);
  }, 60_000);
});
