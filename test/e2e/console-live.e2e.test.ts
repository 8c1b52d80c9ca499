import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnAgent, type AgentProcess } from '../helpers/agent-process.js';
import { collectPageErrors, launchChromium } from '../helpers/browser.js';
import { startTestServer, type TestServer } from '../helpers/control-server.js';
import { clip, REPO_ROOT } from '../helpers/paths.js';

describe('console in Chromium, fed by a real agent', () => {
  let t: TestServer;
  let agent: AgentProcess;
  let browser: Browser;

  beforeAll(async () => {
    t = await startTestServer();
    agent = spawnAgent({
      site: 'e2e-lycee',
      agent: 'gate-1',
      mqtt: { url: t.server.mqttUrl },
      healthIntervalS: 1,
      cameras: [{ id: 'entrance', url: clip('intel-face-demographics-walking-and-pause.mp4'), role: 'both', loop: true, maxFps: 6 }],
    });
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await agent?.stop('SIGKILL');
    await t?.server.close();
  });

  it('shows the agent online with live health, in French, then offline when it stops', async () => {
    const page = await browser.newPage({ locale: 'fr-FR', viewport: { width: 1280, height: 800 } });
    const errors = collectPageErrors(page);
    await page.goto(`${t.server.httpUrl}/`);
    await expect.poll(() => page.locator('html').getAttribute('lang')).toBe('fr');

    const row = page.getByTestId('agent-row-e2e-lycee-gate-1');
    await row.waitFor({ timeout: 60_000 });
    await expect.poll(() => row.getByTestId('agent-state').innerText(), { timeout: 60_000 }).toMatch(/en ligne/i);

    // health figures come from the real models and keep moving
    const readCount = async (id: string) => Number((await row.getByTestId(id).innerText()).replace(/\D/g, '') || '0');
    await expect.poll(() => readCount('det-person'), { timeout: 60_000 }).toBeGreaterThan(0);
    await expect.poll(() => readCount('det-face'), { timeout: 60_000 }).toBeGreaterThan(0);
    const before = await readCount('det-person');
    await expect.poll(() => readCount('det-person'), { timeout: 30_000 }).toBeGreaterThan(before);

    // the live event list shows the camera coming online
    await expect.poll(() => page.getByTestId('event-row').count(), { timeout: 30_000 }).toBeGreaterThan(0);

    // kept out of the work tree; docs/screenshots/ holds the copies the README shows
    mkdirSync(join(REPO_ROOT, 'test-results', 'screenshots'), { recursive: true });
    await page.screenshot({ path: join(REPO_ROOT, 'test-results', 'screenshots', 'console-agents.png') });

    await agent.stop('SIGTERM');
    await expect.poll(() => row.getByTestId('agent-state').innerText(), { timeout: 30_000 }).toMatch(/hors ligne/i);
    expect(errors).toEqual([]);
  }, 180_000);
});
