// The console's login against a real control server with accounts required: accounts made by the
// real `portail-admin` CLI on the server's data dir while it runs, agents and events published over
// the server's MQTT broker by a real client (the agent itself adds nothing to what is tested here).
import {
  buildTopic,
  encodePayload,
  newEventId,
  PROTOCOL_VERSION,
  type AccessEvent,
  type CameraEvent,
  type Health,
  type MovementEvent,
  type Status,
} from '@portail/protocol';
import mqtt, { type MqttClient } from 'mqtt';
import type { Browser, BrowserContext, Page, WebSocket as PwWebSocket } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectPageErrors, launchChromium, saveScreenshot, type ExpectedHttpError } from '../helpers/browser.js';
import {
  addUser,
  randomPassword,
  runAdminCli,
  startTestServer,
  type TestServer,
  type TestUser,
} from '../helpers/control-server.js';
import { waitUntil } from '../helpers/wait.js';

const SITE = 'e2e-lycee';
const OTHER_SITE = 'autre-lycee';

describe('console login, roles and logout against a server with accounts required', () => {
  let t: TestServer;
  let browser: Browser;
  let mq: MqttClient;
  let surveillance: TestUser;
  let accueil: TestUser;
  const admin: TestUser = { username: 'admin', password: randomPassword() };

  let context: BrowserContext;
  let page: Page;
  let errors: string[];
  // a fresh page asks who is logged in: /api/auth/me answers 200 `{ authenticated: false }`, no refusal
  const expected: ExpectedHttpError[] = [];
  const sockets: PwWebSocket[] = [];
  /** the access event stored before any login: reception's first gate card */
  let accessId = '';
  /** answers of GET /api/auth/me seen by the page */
  let meCalls = 0;

  const publish = async (
    key: 'status' | 'health' | 'access' | 'movement' | 'camera',
    site: string,
    agent: string,
    payload: unknown,
  ) => {
    // retained like the agent's own status, so a console that connects later still gets it
    await mq.publishAsync(buildTopic(key, site, agent), encodePayload(key, payload as never), {
      qos: 1,
      retain: key === 'status',
    });
  };
  const status = (site: string, agent: string): Status => ({
    v: PROTOCOL_VERSION,
    site,
    agent,
    state: 'online',
    ts: new Date().toISOString(),
    reason: 'started',
    version: '0.1.0-e2e',
    cameras: [{ id: 'entrance', role: 'gate', state: 'online' }],
  });
  const health = (agent: string, fps: number): Health => ({
    v: PROTOCOL_VERSION,
    site: SITE,
    agent,
    ts: new Date().toISOString(),
    intervalS: 5,
    uptimeS: 60,
    cameras: [{ id: 'entrance', state: 'online', fps, framesIn: 100, framesProcessed: 90, framesDropped: 10 }],
    detectors: [],
    stages: {},
  });
  const envelope = (camera: string) =>
    ({
      id: newEventId(),
      v: PROTOCOL_VERSION,
      site: SITE,
      agent: 'gate-1',
      camera,
      ts: new Date().toISOString(),
    }) as const;

  async function openPage(): Promise<void> {
    context = await browser.newContext({ locale: 'fr-FR', viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
    errors = collectPageErrors(page, { expected });
    page.on('websocket', (ws) => sockets.push(ws));
    page.on('response', (res) => {
      if (new URL(res.url()).pathname === '/api/auth/me') meCalls += 1;
    });
  }

  async function login(user: TestUser): Promise<void> {
    await page.getByTestId('login-username').fill(user.username);
    await page.getByTestId('login-password').fill(user.password);
    await page.getByTestId('login-password').press('Enter');
    await page.getByTestId('user-menu').waitFor({ timeout: 15_000 });
    await expect.poll(() => page.getByTestId('connection-status').getAttribute('data-state')).toBe('open');
  }

  const openSockets = () => sockets.filter((s) => !s.isClosed()).length;

  beforeAll(async () => {
    t = await startTestServer({
      authMode: 'required',
      bootstrapAdmin: admin,
      // a lockout after 3 failures, to show its message without 5 tries; sessions re-checked every second
      auth: { maxFailedLogins: 3 },
      ws: { pingIntervalMs: 1_000 },
    });
    // accounts created by the CLI while the server holds the same SQLite file
    surveillance = await addUser(t.dataDir, { username: 'surveillance', role: 'supervisor', site: SITE });
    accueil = await addUser(t.dataDir, { username: 'accueil', role: 'reception', site: SITE });

    mq = await mqtt.connectAsync(t.server.mqttUrl, { protocolVersion: 4, clientId: `e2e-auth-${process.pid}` });
    await publish('status', SITE, 'gate-1', status(SITE, 'gate-1'));
    await publish('status', OTHER_SITE, 'gate-9', status(OTHER_SITE, 'gate-9'));
    const camera: CameraEvent = { ...envelope('entrance'), state: 'online', code: 'OK' };
    const access: AccessEvent = {
      ...envelope('entrance'),
      passageId: 'p-auth-1',
      credentialId: 'c-auth-1',
      decision: 'accepted',
      biometric: false,
    };
    const movement: MovementEvent = {
      ...envelope('hall'),
      kind: 'line_crossing',
      rule: 'entry',
      direction: 'in',
      trackId: 'k2v7k2v7k2v7k2v7',
    };
    await publish('camera', SITE, 'gate-1', camera);
    await publish('access', SITE, 'gate-1', access);
    accessId = access.id;
    await publish('movement', SITE, 'gate-1', movement);
    // stored before any console connects: each login's hello snapshot carries them
    await waitUntil(
      () => {
        const st = t.server.stats().ingest;
        return st.stored === 3 && st.statusUpdates === 2;
      },
      'the server to store the first events and statuses',
      10_000,
    );

    browser = await launchChromium();
    await openPage();
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await mq?.endAsync();
    await t?.server.close();
  });

  it('shows the login page (username focused) and a French error for a wrong password', async () => {
    await page.goto(`${t.server.httpUrl}/`);
    await page.getByTestId('login-form').waitFor();
    expect(await page.locator('html').getAttribute('lang')).toBe('fr');
    expect(await page.locator('#login-title').innerText()).toBe('Connexion');
    await expect.poll(() => page.locator('#login-username:focus').count()).toBe(1);
    // nothing live before a session: the socket needs the cookie
    expect(sockets).toHaveLength(0);

    expected.push({ status: 401, path: '/api/auth/login' });
    await page.keyboard.type('surveillance');
    await page.keyboard.press('Tab');
    await page.keyboard.type('pas-le-bon-mot-de-passe');
    await page.keyboard.press('Enter');
    const error = page.getByTestId('login-error');
    await expect.poll(() => error.innerText()).toBe('Identifiant ou mot de passe incorrect.');
    expect(await error.getAttribute('role')).toBe('alert');
    // the password is cleared and focused for the next try, the username kept
    expect(await page.getByTestId('login-password').inputValue()).toBe('');
    expect(await page.getByTestId('login-username').inputValue()).toBe('surveillance');
    await expect.poll(() => page.locator('#login-password:focus').count()).toBe(1);
    expect(sockets).toHaveLength(0);
    expected.pop();
    expect(errors).toEqual([]);
  }, 30_000);

  it('says when an account is locked, with the wait', async () => {
    // an unknown username locks like a real one (a lockout tells nothing about which names exist)
    expected.push({ status: 401, path: '/api/auth/login' }, { status: 429, path: '/api/auth/login' });
    await page.getByTestId('login-username').fill('inconnu');
    for (let i = 0; i < 3; i++) {
      await page.getByTestId('login-password').fill(`mauvais-${i}-mot-de-passe`);
      await page.getByTestId('login-password').press('Enter');
      await expect.poll(() => page.getByTestId('login-submit').isDisabled()).toBe(false);
    }
    const error = page.getByTestId('login-error');
    await expect.poll(() => error.getAttribute('data-kind')).toBe('locked');
    expect(await error.innerText()).toMatch(
      /^Trop d’échecs de connexion : ce compte est verrouillé\. Réessayez dans 15 min \(vers \d{2}:\d{2}:\d{2}\), ou demandez à un administrateur de le déverrouiller\.$/,
    );
    await saveScreenshot(page, 'console-login-locked');
    expected.splice(-2, 2);
    expect(errors).toEqual([]);
  }, 30_000);

  it('logs in as a supervisor: user and role in the header, agents of its site only, live', async () => {
    await page.getByTestId('login-username').fill('');
    await login(surveillance);
    expect(await page.getByTestId('user-name').innerText()).toBe('surveillance');
    const role = page.getByTestId('user-role');
    expect(await role.getAttribute('data-role')).toBe('supervisor');
    expect(await role.innerText()).toBe('Surveillance · e2e-lycee');
    expect(await page.getByTestId('auth-disabled').count()).toBe(0);

    const row = page.getByTestId(`agent-row-${SITE}-gate-1`);
    await row.waitFor();
    expect(await row.getByTestId('agent-state').innerText()).toBe('en ligne');
    expect(await page.getByTestId(`agent-row-${OTHER_SITE}-gate-9`).count()).toBe(0);

    // live: figures and agents that arrive after the page opened
    await publish('health', SITE, 'gate-1', health('gate-1', 7.5));
    await expect.poll(() => row.getByTestId('fps-entrance').getAttribute('data-fps')).toBe('7.5');
    await publish('status', SITE, 'gate-2', status(SITE, 'gate-2'));
    await page.getByTestId(`agent-row-${SITE}-gate-2`).waitFor();

    // a supervisor sees every event kind, the alert queue and the counts
    expect(await page.getByTestId('alert-queue').count()).toBe(1);
    expect(await page.getByTestId('line-counts').count()).toBe(1);
    expect(await page.getByTestId('events-kinds').count()).toBe(0);
    await expect
      .poll(async () =>
        (
          await page
            .getByTestId('event-row')
            .evaluateAll((rows: Array<{ getAttribute(name: string): string | null }>) =>
              rows.map((r) => r.getAttribute('data-kind')),
            )
        ).sort(),
      )
      .toEqual(['access', 'camera', 'movement']);
    await saveScreenshot(page, 'console-auth-supervisor');
    expect(errors).toEqual([]);
  }, 30_000);

  it('logs out: back to the login page, live socket closed, cookie gone', async () => {
    expect(openSockets()).toBe(1);
    expect(t.server.stats().ws.clients).toBe(1);
    await page.getByTestId('logout').click();
    await page.getByTestId('login-form').waitFor();
    expect(await page.getByTestId('login-notice').innerText()).toBe('Vous êtes déconnecté.');
    await expect.poll(() => page.locator('#login-username:focus').count()).toBe(1);
    await expect.poll(openSockets).toBe(0);
    await expect.poll(() => t.server.stats().ws.clients).toBe(0);
    expect((await context.cookies()).filter((c) => c.name === 'portail_session')).toEqual([]);
    // the session is dead on the server too: a reload asks again and lands on the login page
    await page.reload();
    await page.getByTestId('login-form').waitFor();
    expect(await page.getByTestId('login-notice').count()).toBe(0);
    expect(errors).toEqual([]);
  }, 30_000);

  it('logs in as reception: lands on the gate view, one card per passage, no movement, no admin menu', async () => {
    await login(accueil);
    expect(await page.getByTestId('user-role').innerText()).toBe('Accueil · e2e-lycee');
    await page.getByTestId('gate-view').waitFor();
    expect(new URL(page.url()).hash).toBe('#/gate');
    // the gate only: no supervision panels, no admin or fleet menu
    expect(
      await page
        .locator('[data-testid^="nav-"]')
        .evaluateAll((els: Array<{ getAttribute(name: string): string | null }>) =>
          els.map((e) => e.getAttribute('data-testid')),
        ),
    ).toEqual(['nav-gate']);
    expect(await page.getByTestId('line-counts').count()).toBe(0);
    expect(await page.getByTestId('alert-queue').count()).toBe(0);
    // the passage stored before the login is a card: verdict in French; its badge is unknown to the server
    const first = page.locator(`[data-testid="gate-card"][data-event-id="${accessId}"]`);
    await first.waitFor();
    expect(await first.getByTestId('gate-verdict').innerText()).toContain('Badge valide');
    await expect.poll(() => first.getAttribute('data-holder')).toBe('none');
    expect(await first.getByTestId('gate-name').innerText()).toBe('Personne non identifiée');
    // a movement published now reaches no card (the server filters the feed); a new passage does
    await publish('movement', SITE, 'gate-1', {
      ...envelope('hall'),
      kind: 'wrong_way',
      rule: 'entry',
      direction: 'out',
      trackId: 'mh7jnistiwnmicq3',
    } satisfies MovementEvent);
    const marker: AccessEvent = {
      ...envelope('entrance'),
      passageId: 'p-auth-2',
      credentialId: 'c-auth-2',
      decision: 'spoof_suspected',
      biometric: true,
    };
    await publish('access', SITE, 'gate-1', marker);
    const pinned = page.locator(`[data-testid="gate-card"][data-event-id="${marker.id}"]`);
    await pinned.waitFor();
    // a suspected spoof is pinned until acknowledged
    expect(await pinned.getAttribute('data-pending')).toBe('true');
    expect(await page.getByTestId('gate-card').count()).toBe(2);
    expect(await page.getByTestId('gate-shortcuts').innerText()).toContain('acquitter');
    await saveScreenshot(page, 'console-auth-reception');
    expect(errors).toEqual([]);
  }, 30_000);

  it('goes back to the login page when the server ends the session (account disabled: close 1008)', async () => {
    expect(openSockets()).toBe(1);
    const meBefore = meCalls;
    const res = await runAdminCli(t.dataDir, ['user', 'disable', '--username', 'accueil']);
    expect(res.code, res.stderr).toBe(0);
    // the server re-checks sessions at each ping (every second here) and closes with 1008
    await page.getByTestId('login-form').waitFor({ timeout: 15_000 });
    expect(await page.getByTestId('login-notice').getAttribute('data-notice')).toBe('session_ended');
    expect(await page.getByTestId('login-notice').innerText()).toMatch(/^Votre session a pris fin/);
    await expect.poll(openSockets).toBe(0);
    // the close code said it all: no reconnect, not even the session check before one
    expect(meCalls).toBe(meBefore);
    expect(errors).toEqual([]);
  }, 30_000);

  it('regional IT (bootstrap admin) sees agents of every site and camera events, no access verdicts', async () => {
    await login(admin);
    expect(await page.getByTestId('user-role').innerText()).toBe('Informatique régionale · tous les sites');
    // it lands on the fleet view: every site's agents, machine figures only
    await page.getByTestId('fleet-view').waitFor();
    await page.getByTestId(`fleet-agent-${OTHER_SITE}-gate-9`).waitFor();
    await page.getByTestId(`fleet-agent-${SITE}-gate-1`).waitFor();
    expect(await page.getByTestId('alert-queue').count()).toBe(0);
    expect(await page.getByTestId('line-counts').count()).toBe(0);
    expect(await page.getByTestId('events-kinds').getAttribute('data-kinds')).toBe('camera');
    await expect.poll(() => page.getByTestId('event-row').count()).toBeGreaterThan(0);
    expect(await page.locator('[data-testid="event-row"]:not([data-kind="camera"])').count()).toBe(0);
    // English second, switched in place
    await page.getByTestId('lang-en').click();
    expect(await page.getByTestId('user-role').innerText()).toBe('Regional IT · all sites');
    expect(await page.getByTestId('logout').innerText()).toBe('Log out');
    await page.getByTestId('lang-fr').click();
    await page.getByTestId('logout').click();
    await page.getByTestId('login-form').waitFor();
    expect(errors).toEqual([]);
  }, 30_000);
});
