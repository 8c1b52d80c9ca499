// The admin « sites » section in Chromium against a real control server (accounts required) and a
// real edge agent on the demo hall clip: a site admin draws a zone with mouse clicks on the camera's
// plan, turns tracking on, saves → the server publishes version 1 retained → the agent reports it
// applied (live over the WebSocket) → people walking in the clip produce zone_entry events for it.
// Then role scoping: reception sees no admin menu, gets the forbidden notice on #/admin and 403 from
// admin API URLs; regional IT sees the fleet and the sites section but no student name anywhere.
// No console error nor failed request other than the expected refusals. Issue #8, acc. 3, 4, 7.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateStudents, registryCsv } from '../../control-server/src/people/testing.js';
import { spawnAgent, type AgentProcess } from '../helpers/agent-process.js';
import {
  collectPageErrors,
  launchChromium,
  publishScreenshot,
  saveScreenshot,
  type ExpectedHttpError,
} from '../helpers/browser.js';
import { addUser, runAdminCli, startTestServer, type TestServer, type TestUser } from '../helpers/control-server.js';
import { clip } from '../helpers/paths.js';

const SITE = 'lycee-zones';
const AGENT = 'hall-1';
const ZONE = 'hall-zone';
// made-up students: their names must never reach a regional IT page
const STUDENTS = generateStudents(6, 808).map((s, i) => ({
  ...s,
  lastName: `Zorglub${'abcdef'[i]}`,
  firstName: `Philomène${i}`,
}));

interface MovementRow {
  payload: { kind: string; rule: string };
}

describe('admin zones and roles (Chromium, real server and agent)', () => {
  const work = mkdtempSync(join(tmpdir(), 'portail-admin-zones-'));
  let t: TestServer;
  let agent: AgentProcess;
  let browser: Browser;
  let admin: TestUser;
  let accueil: TestUser;
  let regional: TestUser;
  const open: Array<{ context: BrowserContext; errors: string[] }> = [];

  /** A fresh browser context logged in as `user`, collecting errors (expected refusals aside). */
  async function loginAs(user: TestUser, expected: ExpectedHttpError[]): Promise<{ page: Page; errors: string[] }> {
    const context = await browser.newContext({ locale: 'fr-FR', viewport: { width: 1400, height: 1200 } });
    const page = await context.newPage();
    const errors = collectPageErrors(page, { expected: [{ status: 401, path: '/api/auth/me' }, ...expected] });
    open.push({ context, errors });
    await page.goto(`${t.server.httpUrl}/`);
    await page
      .getByTestId('login-form')
      .waitFor({ timeout: 15_000 })
      .catch(async (err: unknown) => {
        throw new Error(
          `no login page; page errors: ${errors.join(' | ')}; page: ${(await page.content()).slice(0, 1500)}`,
          { cause: err },
        );
      });
    await page.getByTestId('login-username').fill(user.username);
    await page.getByTestId('login-password').fill(user.password);
    await page.getByTestId('login-password').press('Enter');
    await page.getByTestId('user-menu').waitFor({ timeout: 15_000 });
    return { page, errors };
  }

  /** An API call from inside the page: the session cookie and the CSRF token of the logged-in user. */
  const apiFromPage = (page: Page, method: string, path: string, body?: unknown) =>
    page.evaluate(
      async ([m, p, b]) => {
        const me = (await (await fetch('/api/auth/me')).json()) as { csrfToken?: string };
        const res = await fetch(p, {
          method: m,
          headers: { 'content-type': 'application/json', 'x-csrf-token': me.csrfToken ?? '' },
          ...(b === undefined ? {} : { body: JSON.stringify(b) }),
        });
        return { status: res.status, body: await res.json().catch((): unknown => null) };
      },
      [method, path, body] as const,
    );

  beforeAll(async () => {
    t = await startTestServer({ authMode: 'required', dataDir: join(work, 'server') });
    admin = await addUser(t.dataDir, { username: 'proviseure', role: 'site_admin', site: SITE });
    accueil = await addUser(t.dataDir, { username: 'accueil', role: 'reception', site: SITE });
    regional = await addUser(t.dataDir, { username: 'dsi-region', role: 'regional_it', site: '*' });
    const csv = join(work, 'eleves.csv');
    writeFileSync(csv, registryCsv(STUDENTS));
    const imported = await runAdminCli(t.dataDir, ['import', '--site', SITE, '--file', csv]);
    expect(imported.code, imported.stderr).toBe(0);
    // the demo hall camera, tracking off in its local file: the site admin turns it on from the console
    agent = spawnAgent({
      site: SITE,
      agent: AGENT,
      mqtt: { url: t.server.mqttUrl },
      healthIntervalS: 2,
      vision: { face: { enabled: false } },
      cameras: [
        { id: 'hall', url: clip('intel-one-by-one-person-detection.mp4'), role: 'tracking', loop: true, maxFps: 10 },
      ],
    });
    browser = await launchChromium();
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await agent?.stop('SIGTERM');
    await t?.server.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('a site admin draws a zone on the camera plan, saves, the agent applies it and the rule fires', async () => {
    const { page, errors } = await loginAs(admin, []);
    // the site admin registers the camera's source on the server (the clip the agent plays), so the
    // editor opens on a snapshot grabbed by the server with every face pixelated
    const registered = await apiFromPage(page, 'PUT', `/api/sites/${SITE}/agents/${AGENT}/cameras/hall`, {
      name: 'Hall',
      role: 'tracking',
      locationType: 'circulation',
      trackingEnabled: false,
      rtspUrl: `file://${clip('intel-one-by-one-person-detection.mp4')}`,
    });
    expect([200, 201], JSON.stringify(registered.body)).toContain(registered.status);
    await page.goto(`${t.server.httpUrl}/#/admin/sites`);
    await page.getByTestId('admin-section-sites').waitFor();
    await page.getByTestId(`site-row-${SITE}`).waitFor({ timeout: 15_000 });
    // the agent's camera comes online and reports its frame size (camera event) before the editor opens
    await expect
      .poll(
        async () => {
          const r = await apiFromPage(page, 'GET', `/api/events?kind=camera&site=${SITE}&limit=20`);
          return (r.body as { events: Array<{ payload: { width?: number } }> }).events.some((e) => e.payload.width);
        },
        { timeout: 90_000, interval: 500 },
      )
      .toBe(true)
      .catch((err: unknown) => {
        throw new Error(`agent camera not online; agent output:\n${agent.output().slice(-2000)}`, { cause: err });
      });
    const agentRow = page.getByTestId(`site-agent-${AGENT}`);
    await expect
      .poll(() => agentRow.getByTestId('agent-provisioning').getAttribute('data-state'), { timeout: 30_000 })
      .toBe('online');

    await page.getByTestId(`camera-zones-${AGENT}-hall`).click();
    const editor = page.getByTestId('zone-editor');
    await editor.waitFor();
    const canvas = page.getByTestId('zone-canvas');
    // the plan is the camera's snapshot (faces pixelated by the server), in frame pixels
    const snapshot = page.getByTestId('zone-snapshot');
    await snapshot.waitFor();
    await expect
      .poll(() => snapshot.evaluate((img: { naturalWidth: number }) => img.naturalWidth), { timeout: 30_000 })
      .toBe(768);
    await expect.poll(() => canvas.getAttribute('data-frame-width')).toBe('768');
    expect(await canvas.getAttribute('data-frame-height')).toBe('432');
    expect(await page.getByTestId('blank-canvas-note').count()).toBe(0);
    expect(await page.getByTestId('config-apply-state').getAttribute('data-kind')).toBe('none');

    // the camera looks at a circulation area: tracking may be turned on there
    await page.getByTestId('cfg-location-type').selectOption('circulation');
    await page.getByTestId('cfg-tracking').check();

    // five clicks: most of the room, where the people of the clip walk
    await page.getByTestId('tool-zone').click();
    const box = (await canvas.boundingBox())!;
    for (const [fx, fy] of [
      [0.03, 0.05],
      [0.6, 0.05],
      [0.97, 0.4],
      [0.97, 0.95],
      [0.03, 0.95],
    ] as const) {
      await page.mouse.click(box.x + fx * box.width, box.y + fy * box.height);
    }
    await page.getByTestId('finish-zone').click();
    await page.getByTestId('zone-name-0').fill(ZONE);
    const shape = page.getByTestId(`zone-shape-${ZONE}`);
    await shape.waitFor();
    const points = (await shape.locator('polygon').getAttribute('points'))!
      .split(' ')
      .map((p) => p.split(',').map(Number));
    expect(points).toHaveLength(5);
    // frame pixels, whatever the size the plan is shown at
    expect(points[0]![0]).toBeCloseTo(0.03 * 768, -1);
    expect(points[3]![1]).toBeCloseTo(0.95 * 432, -1);

    await page.getByTestId('config-save').click();
    await expect
      .poll(() => page.getByTestId('zone-editor-notice').innerText())
      .toBe('Version 1 enregistrée et publiée.');
    // the agent's answer arrives over the WebSocket: no reload
    const applied = page.getByTestId('config-apply-state');
    await expect.poll(() => applied.getAttribute('data-kind'), { timeout: 30_000 }).toBe('applied');
    expect(await applied.getAttribute('data-version')).toBe('1');
    expect(await applied.innerText()).toBe('appliquée v1');
    await expect.poll(() => agentRow.getByTestId('agent-config-state').innerText()).toBe('appliquée v1');

    // the rule applies: people walking in the clip enter the zone
    await expect
      .poll(
        async () => {
          const r = await apiFromPage(page, 'GET', `/api/events?kind=movement&site=${SITE}&limit=200`);
          return (r.body as { events: MovementRow[] }).events.some(
            (e) => e.payload.kind === 'zone_entry' && e.payload.rule === ZONE,
          );
        },
        { timeout: 90_000, interval: 1000 },
      )
      .toBe(true);

    // a directed line drawn next (two clicks, not saved): its arrow points to the "in" side, into the room
    await page.getByTestId('tool-line').click();
    await page.mouse.click(box.x + 0.62 * box.width, box.y + 0.88 * box.height);
    await page.mouse.click(box.x + 0.2 * box.width, box.y + 0.88 * box.height);
    const line = page.getByTestId('line-shape-line-1');
    await line.waitFor();
    const arrow = line.locator('line.in-arrow');
    expect(Number(await arrow.getAttribute('y2'))).toBeLessThan(Number(await arrow.getAttribute('y1')));
    // the screenshot shows the editor with its drawing, never a camera frame (even pixelated)
    await snapshot.evaluate((img: { style: { visibility: string } }) => {
      img.style.visibility = 'hidden';
    });
    const shot = await saveScreenshot(page, 'admin');
    publishScreenshot(shot, 'admin');
    expect(errors).toEqual([]);
  }, 240_000);

  it('reception: no admin menu, the forbidden notice on #/admin, 403 from admin API URLs', async () => {
    const forbidden = [
      { method: 'PUT', path: `/api/sites/${SITE}/agents/${AGENT}/config`, body: { cameras: [] } },
      { method: 'PUT', path: `/api/sites/${SITE}`, body: { name: 'x' } },
      { method: 'GET', path: '/api/users' },
      { method: 'GET', path: `/api/sites/${SITE}/students` },
    ];
    const { page, errors } = await loginAs(
      accueil,
      forbidden.map((f) => ({ status: 403, path: f.path })),
    );
    await page.getByTestId('nav-gate').waitFor();
    expect(await page.getByTestId('nav-admin').count()).toBe(0);
    await page.goto(`${t.server.httpUrl}/#/admin`);
    await page.getByTestId('view-forbidden').waitFor();
    await page.goto(`${t.server.httpUrl}/#/admin/sites`);
    await page.getByTestId('view-forbidden').waitFor();
    expect(await page.getByTestId('admin-section-sites').count()).toBe(0);
    for (const f of forbidden) {
      const r = await apiFromPage(page, f.method, f.path, f.body);
      expect(r.status, `${f.method} ${f.path}`).toBe(403);
    }
    // reading the agent's configuration is fine (agents:read), changing it is not
    expect((await apiFromPage(page, 'GET', `/api/sites/${SITE}/agents/${AGENT}/config`)).status).toBe(200);
    expect(errors).toEqual([]);
  }, 60_000);

  it('regional IT: the fleet and the sites section, the configuration in force, and no student name anywhere', async () => {
    const { page, errors } = await loginAs(regional, []);
    await page.getByTestId('nav-fleet').waitFor();
    await page.getByTestId('nav-admin').click();
    await page.getByTestId('admin-nav-sites').waitFor();
    expect(await page.getByTestId('admin-nav-people').count()).toBe(0);
    await page.getByTestId('admin-nav-sites').click();
    await page.getByTestId(`site-row-${SITE}`).waitFor({ timeout: 15_000 });
    // the people counts are the site admin's: not even a number here
    expect(await page.getByTestId(`site-row-${SITE}`).getByTestId('site-people').count()).toBe(0);
    await page.getByTestId(`site-open-${SITE}`).click();
    const agentRow = page.getByTestId(`site-agent-${AGENT}`);
    await expect
      .poll(() => agentRow.getByTestId('agent-config-state').innerText(), { timeout: 15_000 })
      .toBe('appliquée v1');
    await page.getByTestId(`camera-zones-${AGENT}-hall`).click();
    await page.getByTestId(`zone-shape-${ZONE}`).waitFor();

    const names = STUDENTS.flatMap((s) => [s.lastName, s.firstName]);
    for (const view of ['#/fleet', '#/admin/sites', '#/live']) {
      await page.goto(`${t.server.httpUrl}/${view}`);
      await page.waitForLoadState('networkidle');
      const text = await page.locator('body').innerText();
      for (const n of names) expect(text, `${view} shows ${n}`).not.toContain(n);
    }
    expect(errors).toEqual([]);
  }, 90_000);

  afterAll(async () => {
    for (const o of open) await o.context.close().catch(() => undefined);
  });
});
