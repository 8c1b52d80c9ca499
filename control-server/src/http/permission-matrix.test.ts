import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { isRouteAccess, type RoleGrant } from '../auth/permissions.js';
import { findStudent } from '../people/people-store.js';
import type { StoredEvent } from '../repositories/event-repository.js';
import { buildAuthTestApp, login, type AuthTestApp, type LoggedIn } from '../test-support/auth.js';
import {
  makeAccessEvent,
  makeCameraEvent,
  makeHealth,
  makeMovementEvent,
  makeStatus,
  waitFor,
} from '../test-support/fixtures.js';
import { CSRF_HEADER } from './auth/auth-plugin.js';
import {
  createMatrixContext,
  MATRIX_STUDENTS,
  METRICS_TOKEN,
  PEOPLE_ADMINS,
  PRIVACY_WRITERS,
  REGISTER_READERS,
  USERS,
  VISIBLE_AGENT_SITES,
  VISIBLE_EVENTS,
  WHO,
  type MatrixRows,
  type Who,
} from './matrix/matrix-context.js';
import { siteRows } from './matrix/site-rows.js';
import { alertRows } from './matrix/alert-rows.js';
import { cameraRows } from './matrix/camera-rows.js';
import { gateRows } from './matrix/gate-rows.js';
import { peopleRows } from './matrix/people-rows.js';
import { authRows } from './matrix/auth-rows.js';

/**
 * The permission matrix: for every registered route and for /ws, what each role gets, including
 * cross-site attempts (403) and anonymous ones (401). A route added without a row here fails the
 * first test, so nobody can add an endpoint without deciding who may call it. Rows of each area live in
 * ./matrix/<area>-rows.ts (a function of the shared MatrixContext) and are spread into MATRIX below.
 */

const byKindSite = (events: Array<Pick<StoredEvent, 'kind' | 'site'>>): string[] =>
  [...new Set(events.map((e) => `${e.kind}@${e.site}`))].sort();

describe('permission matrix (auth required)', () => {
  let t: AuthTestApp;
  const sessions = new Map<Who, LoggedIn>();
  let wsUrl: string;

  beforeAll(async () => {
    t = await buildAuthTestApp({ metricsToken: METRICS_TOKEN });
    for (const [name, roles] of Object.entries(USERS)) await t.addUser(name, roles);
    for (const name of Object.keys(USERS) as Array<keyof typeof USERS>) sessions.set(name, await login(t.app, name));
    const received = new Date().toISOString();
    for (const site of ['s1', 's2']) {
      t.agents.applyStatus(makeStatus(site, 'gate-1'), received);
      t.events.insert('access', makeAccessEvent(site, 'gate-1'), received);
      t.events.insert('movement', makeMovementEvent(site, 'gate-1'), received);
      t.events.insert('camera', makeCameraEvent(site, 'gate-1'), received);
    }
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    wsUrl = `ws://127.0.0.1:${(t.app.server.address() as AddressInfo).port}/ws`;
  });
  afterAll(async () => {
    await t?.close();
  });

  const ctx = createMatrixContext(() => t, sessions);
  const { headersOf, get, send, expectedFor, ensureStudents } = ctx;

  /** Every route, with the status each caller gets (or a check of the body). */
  const CORE_ROWS: MatrixRows = {
    'GET /healthz': async (who) => {
      const res = await get(who, '/healthz');
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({ ok: true });
    },
    'GET /': async (who) => {
      // public; the console is not built in this test, hence its 503 hint rather than 401
      expect((await get(who, '/')).statusCode).toBe(503);
    },
    'GET /*': async (who) => {
      // registered only when the console is built: public, like /
      expect(who).toBeDefined();
    },
    'POST /api/auth/login': async (who) => {
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/auth/login',
        headers: headersOf(who),
        payload: { username: `nobody-${who}`, password: 'wrong password 123' },
      });
      expect(res.statusCode).toBe(401);
      expect(res.json()).toMatchObject({ error: 'INVALID_CREDENTIALS' });
    },
    'POST /api/auth/logout': async (who) => {
      if (who === 'anonymous') {
        expect((await t.app.inject({ method: 'POST', url: '/api/auth/logout' })).statusCode).toBe(401);
        return;
      }
      const s = await login(t.app, who);
      expect((await t.app.inject({ method: 'POST', url: '/api/auth/logout', headers: s.headers })).statusCode).toBe(
        204,
      );
      // the session is gone
      expect((await t.app.inject({ method: 'GET', url: '/api/auth/me', headers: s.headers })).json()).toMatchObject({
        authenticated: false,
      });
      expect((await t.app.inject({ method: 'GET', url: '/api/agents', headers: s.headers })).statusCode).toBe(401);
    },
    'GET /api/auth/me': async (who) => {
      const res = await get(who, '/api/auth/me');
      // public: before login, 200 `{ authenticated: false }` (no 401 logged by the browser)
      if (who === 'anonymous') return expect(res.json()).toMatchObject({ authenticated: false });
      expect(res.statusCode).toBe(200);
      const body = res.json<{ user: { username: string; roles: RoleGrant[] }; csrfToken: string }>();
      expect(body.user.username).toBe(who);
      expect(body.user.roles).toEqual(expect.arrayContaining([...USERS[who]] as RoleGrant[]));
      expect(body.csrfToken).toBe(sessions.get(who)!.csrf);
    },
    'POST /api/auth/totp/setup': async (who) => {
      const res = await t.app.inject({ method: 'POST', url: '/api/auth/totp/setup', headers: headersOf(who) });
      const expected = who === 'anonymous' ? 401 : who === 'rec1' || who === 'sup1' ? 403 : 200;
      expect(res.statusCode).toBe(expected);
    },
    'POST /api/auth/totp/confirm': async (who) => {
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/auth/totp/confirm',
        headers: headersOf(who),
        payload: { code: '000000' },
      });
      if (who === 'anonymous') return expect(res.statusCode).toBe(401);
      // reception/supervisor never get a pending secret; the others did in the setup row, and 000000 is wrong
      expect([409, 400]).toContain(res.statusCode);
    },
    'GET /api/agents': async (who) => {
      const res = await get(who, '/api/agents');
      if (who === 'anonymous') return expect(res.statusCode).toBe(401);
      expect(res.statusCode).toBe(200);
      const sites = res
        .json<{ agents: Array<{ site: string }> }>()
        .agents.map((a) => a.site)
        .sort();
      expect(sites).toEqual(VISIBLE_AGENT_SITES[who]);
      // asking for another site is refused, not silently emptied
      const cross = await get(who, '/api/agents?site=s2');
      expect(cross.statusCode).toBe(VISIBLE_AGENT_SITES[who].includes('s2') ? 200 : 403);
    },
    'GET /api/events': async (who) => {
      const res = await get(who, '/api/events?limit=100');
      if (who === 'anonymous') return expect(res.statusCode).toBe(401);
      expect(res.statusCode).toBe(200);
      expect(byKindSite(res.json<{ events: StoredEvent[] }>().events)).toEqual([...VISIBLE_EVENTS[who]].sort());
      const cross = await get(who, '/api/events?site=s2');
      const seesS2 = VISIBLE_EVENTS[who].some((k) => k.endsWith('@s2'));
      expect(cross.statusCode).toBe(seesS2 ? 200 : 403);
      if (seesS2) {
        expect(byKindSite(cross.json<{ events: StoredEvent[] }>().events)).toEqual(
          VISIBLE_EVENTS[who].filter((k) => k.endsWith('@s2')).sort(),
        );
      }
    },
    'GET /api/stats': async (who) => {
      const res = await get(who, '/api/stats');
      expect(res.statusCode).toBe(who === 'anonymous' ? 401 : who.startsWith('it') ? 200 : 403);
    },
    'GET /metrics': async (who) => {
      const res = await get(who, '/metrics');
      expect(res.statusCode).toBe(who === 'anonymous' ? 401 : who.startsWith('it') ? 200 : 403);
      if (who === 'anonymous') {
        const scraper = await t.app.inject({
          method: 'GET',
          url: '/metrics',
          headers: { authorization: `Bearer ${METRICS_TOKEN}` },
        });
        expect(scraper.statusCode).toBe(200);
        expect(scraper.body).toContain('portail_server_agents');
        const wrong = await t.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: 'Bearer nope' } });
        expect(wrong.statusCode).toBe(401);
        // the token opens /metrics only
        const elsewhere = await t.app.inject({
          method: 'GET',
          url: '/api/stats',
          headers: { authorization: `Bearer ${METRICS_TOKEN}` },
        });
        expect(elsewhere.statusCode).toBe(401);
      }
    },
    'GET /api/users': async (who) => {
      const res = await get(who, '/api/users');
      if (who === 'anonymous') return expect(res.statusCode).toBe(401);
      if (who === 'rec1' || who === 'sup1') return expect(res.statusCode).toBe(403);
      expect(res.statusCode).toBe(200);
      const grants = res.json<{ users: Array<{ roles: RoleGrant[] }> }>().users.flatMap((u) => u.roles);
      const sites = [...new Set(grants.map((g) => g.site))].sort();
      // a site-level administrator sees only the grants of its sites, never the global ones
      expect(sites).toEqual(who === 'itAll' || who === 'itAdm1' ? expect.arrayContaining(['*', 's1']) : ['s1']);
    },
    'GET /api/sites/:site/users': async (who) => {
      const own = await get(who, '/api/sites/s1/users');
      const other = await get(who, '/api/sites/s2/users');
      if (who === 'anonymous') {
        expect([own.statusCode, other.statusCode]).toEqual([401, 401]);
        return;
      }
      if (who === 'rec1' || who === 'sup1') {
        expect([own.statusCode, other.statusCode]).toEqual([403, 403]);
        return;
      }
      expect(own.statusCode).toBe(200);
      expect(other.statusCode).toBe(who === 'itAll' || who === 'itAdm1' ? 200 : 403);
      const roles = own.json<{ users: Array<{ roles: RoleGrant[] }> }>().users.flatMap((u) => u.roles);
      expect(roles.every((g) => g.site === 's1')).toBe(true);
    },
    'POST /api/users': async (who) => {
      const create = (roles: RoleGrant[], headers = headersOf(who)) =>
        t.app.inject({
          method: 'POST',
          url: '/api/users',
          headers,
          payload: {
            username: `new-${who}-${Math.random().toString(36).slice(2, 8)}`,
            password: 'a long enough passphrase',
            roles,
          },
        });
      if (who === 'anonymous') return expect((await create([{ role: 'reception', site: 's1' }])).statusCode).toBe(401);
      if (who === 'rec1' || who === 'sup1')
        return expect((await create([{ role: 'reception', site: 's1' }])).statusCode).toBe(403);
      expect((await create([{ role: 'reception', site: 's1' }])).statusCode).toBe(201);
      // without the CSRF token, the same request is refused
      const { [CSRF_HEADER]: _csrf, ...noCsrf } = headersOf(who);
      expect((await create([{ role: 'reception', site: 's1' }], noCsrf)).json()).toMatchObject({
        error: 'CSRF_TOKEN_INVALID',
      });
      // cross-site grant
      const s2 = await create([{ role: 'reception', site: 's2' }]);
      expect(s2.statusCode).toBe(who === 'itAll' || who === 'itAdm1' ? 201 : 403);
      // raising someone to regional IT takes regional IT
      const it = await create([{ role: 'regional_it', site: 's1' }]);
      expect(it.statusCode).toBe(who.startsWith('it') ? 201 : 403);
      const global = await create([{ role: 'regional_it', site: '*' }]);
      expect(global.statusCode).toBe(who === 'itAll' || who === 'itAdm1' ? 201 : 403);
    },
    // privacy: register:read (site admins, regional IT), retention:write and people:* (site admins only)
    'GET /api/sites/:site/privacy/retention': async (who) => {
      for (const site of ['s1', 's2']) {
        const res = await get(who, `/api/sites/${site}/privacy/retention`);
        expect(res.statusCode, site).toBe(expectedFor(who, site, REGISTER_READERS));
        if (res.statusCode === 200)
          expect(res.json()).toMatchObject({ retention: { site, policy: { accessEventsDays: 30 } } });
      }
    },
    'PUT /api/sites/:site/privacy/retention': async (who) => {
      for (const site of ['s1', 's2']) {
        const res = await send(who, 'PUT', `/api/sites/${site}/privacy/retention`, { accessEventsDays: 30 });
        expect(res.statusCode, site).toBe(expectedFor(who, site, PRIVACY_WRITERS));
      }
      if (PRIVACY_WRITERS[who as keyof typeof USERS]?.includes('s1')) {
        // beyond the hard maximum: refused by the schema
        expect((await send(who, 'PUT', '/api/sites/s1/privacy/retention', { accessEventsDays: 91 })).statusCode).toBe(
          400,
        );
        const { [CSRF_HEADER]: _csrf, ...noCsrf } = headersOf(who);
        const res = await t.app.inject({
          method: 'PUT',
          url: '/api/sites/s1/privacy/retention',
          headers: noCsrf,
          payload: { accessEventsDays: 30 },
        });
        expect(res.json()).toMatchObject({ error: 'CSRF_TOKEN_INVALID' });
      }
    },
    'POST /api/sites/:site/privacy/purge': async (who) => {
      for (const site of ['s1', 's2']) {
        const res = await send(who, 'POST', `/api/sites/${site}/privacy/purge`);
        expect(res.statusCode, site).toBe(expectedFor(who, site, PRIVACY_WRITERS));
        if (res.statusCode === 200) expect(res.json<{ site: { site: string } }>().site.site).toBe(site);
      }
    },
    'GET /api/sites/:site/privacy/register': async (who) => {
      for (const site of ['s1', 's2']) {
        const res = await get(who, `/api/sites/${site}/privacy/register`);
        expect(res.statusCode, site).toBe(expectedFor(who, site, REGISTER_READERS));
        if (res.statusCode === 200) {
          expect(res.headers['content-type']).toMatch(/^text\/markdown/);
          expect(res.body).toContain(`# Registre des activités de traitement — site \`${site}\``);
          // no personal data in it, whoever reads it
          ensureStudents();
          expect(res.body).not.toContain(MATRIX_STUDENTS[0]!.lastName + ' ');
        }
      }
    },
    'PUT /api/sites/:site/privacy/register-info': async (who) => {
      for (const site of ['s1', 's2']) {
        const res = await send(who, 'PUT', `/api/sites/${site}/privacy/register-info`, {
          dpoContact: 'dpo@example.fr',
        });
        expect(res.statusCode, site).toBe(expectedFor(who, site, PRIVACY_WRITERS));
      }
    },
    'GET /api/sites/:site/privacy/pilot': async (who) => {
      for (const site of ['s1', 's2']) {
        expect((await get(who, `/api/sites/${site}/privacy/pilot`)).statusCode, site).toBe(
          expectedFor(who, site, REGISTER_READERS),
        );
      }
    },
    'PUT /api/sites/:site/privacy/pilot': async (who) => {
      for (const site of ['s1', 's2']) {
        const res = await send(who, 'PUT', `/api/sites/${site}/privacy/pilot`, { endsOn: '2026-06-30' });
        const expected = expectedFor(who, site, PRIVACY_WRITERS);
        // 201 for the first declaration of the site, 200 when a later caller changes it
        if (expected === 200) expect([200, 201]).toContain(res.statusCode);
        else expect(res.statusCode, site).toBe(expected);
      }
    },
    'GET /api/sites/:site/equal-service': async (who) => {
      for (const site of ['s1', 's2']) {
        const res = await get(who, `/api/sites/${site}/equal-service?from=2026-01-01&to=2026-04-01`);
        expect(res.statusCode, site).toBe(expectedFor(who, site, REGISTER_READERS));
        if (res.statusCode === 200) expect(res.json()).toMatchObject({ site, gates: expect.any(Array) });
      }
    },
    'GET /api/sites/:site/privacy/students/:studentId/export': async (who) => {
      ensureStudents();
      for (const site of ['s1', 's2']) {
        const id = findStudent(t.db, site, MATRIX_STUDENTS[0]!.externalId)!.id;
        const res = await get(who, `/api/sites/${site}/privacy/students/${id}/export`);
        expect(res.statusCode, site).toBe(expectedFor(who, site, PEOPLE_ADMINS));
        if (res.statusCode === 200) {
          expect(res.json()).toMatchObject({ export: { student: { id, site } } });
          expect(res.headers['cache-control']).toBe('no-store');
        }
      }
    },
    'POST /api/sites/:site/privacy/students/:studentId/erase': async (who) => {
      ensureStudents();
      for (const site of ['s1', 's2']) {
        // each caller allowed to erase takes the next student, so every allowed call erases someone
        const next = MATRIX_STUDENTS.find((s) => s !== MATRIX_STUDENTS[0] && findStudent(t.db, site, s.externalId))!;
        const id = findStudent(t.db, site, next.externalId)!.id;
        const res = await send(who, 'POST', `/api/sites/${site}/privacy/students/${id}/erase`, {});
        const expected = expectedFor(who, site, PEOPLE_ADMINS);
        expect(res.statusCode, site).toBe(expected);
        expect(findStudent(t.db, site, next.externalId) === undefined, site).toBe(expected === 200);
      }
    },
    'GET /ws': async (who) => {
      if (who === 'anonymous') {
        // accepted, then closed with 1008 and the reason: the console goes to the login page
        const anon = await openWs({});
        const closed = await new Promise<[number, string]>((resolve) =>
          anon.socket.once('close', (code: number, reason: Buffer) => resolve([code, reason.toString('utf8')])),
        );
        expect(closed).toEqual([1008, 'UNAUTHENTICATED']);
        return;
      }
      const ws = await openWs({ cookie: sessions.get(who)!.headers.cookie! });
      try {
        const hello = (await ws.next()) as { type: string; agents: Array<{ site: string }>; events: StoredEvent[] };
        expect(hello.type).toBe('hello');
        expect([...new Set(hello.agents.map((a) => a.site))].sort()).toEqual(VISIBLE_AGENT_SITES[who]);
        expect(byKindSite(hello.events)).toEqual([...VISIBLE_EVENTS[who]].sort());
        // live pushes go through the same filter: publish one of each at both sites, then a marker
        const received = new Date().toISOString();
        for (const site of ['s1', 's2']) {
          t.bus.publish({
            type: 'event',
            kind: 'access',
            event: t.events.insert('access', makeAccessEvent(site, 'gate-1'), received).event,
          });
          t.bus.publish({
            type: 'event',
            kind: 'movement',
            event: t.events.insert('movement', makeMovementEvent(site, 'gate-1'), received).event,
          });
          t.bus.publish({
            type: 'event',
            kind: 'camera',
            event: t.events.insert('camera', makeCameraEvent(site, 'gate-1'), received).event,
          });
          t.bus.publish({ type: 'health', site, agent: 'gate-1', health: makeHealth(site, 'gate-1') });
        }
        const marker = makeCameraEvent('s1', 'marker');
        t.bus.publish({ type: 'event', kind: 'camera', event: t.events.insert('camera', marker, received).event });
        await waitFor(
          () =>
            ws.messages.some((m) => (m.event as { id?: string } | undefined)?.id === marker.id) ? true : undefined,
          'marker',
        );
        const pushedEvents = ws.messages.filter((m) => m.type === 'event').map((m) => m.event as StoredEvent);
        expect(byKindSite(pushedEvents.filter((e) => e.agent === 'gate-1'))).toEqual([...VISIBLE_EVENTS[who]].sort());
        const healthSites = ws.messages.filter((m) => m.type === 'health').map((m) => m.site as string);
        expect([...new Set(healthSites)].sort()).toEqual(VISIBLE_AGENT_SITES[who]);
      } finally {
        ws.socket.close();
      }
    },
  };

  // rows of each area, from ./matrix/*-rows.ts; add yours here
  const MATRIX: MatrixRows = {
    ...CORE_ROWS,
    ...siteRows(ctx),
    ...alertRows(ctx),
    ...cameraRows(ctx),
    ...gateRows(ctx),
    ...peopleRows(ctx),
    ...authRows(ctx),
  };

  function openWs(headers: Record<string, string>) {
    return new Promise<{ socket: WebSocket; messages: Array<Record<string, unknown>>; next: () => Promise<unknown> }>(
      (resolve, reject) => {
        const socket = new WebSocket(wsUrl, { headers });
        const messages: Array<Record<string, unknown>> = [];
        socket.on('message', (data: Buffer) =>
          messages.push(JSON.parse(data.toString('utf8')) as Record<string, unknown>),
        );
        socket.once('error', reject);
        socket.once('open', () =>
          resolve({
            socket,
            messages,
            next: () => waitFor(() => messages[0], 'first message'),
          }),
        );
      },
    );
  }

  it('every registered route declares a valid permission and has a row in the matrix', () => {
    const routes = t.built.routes;
    expect(routes.length).toBeGreaterThan(10);
    for (const r of routes) expect(isRouteAccess(r.permission), `${r.method} ${r.url}`).toBe(true);
    const keys = new Set(routes.filter((r) => r.method !== 'HEAD').map((r) => `${r.method} ${r.url}`));
    const matrixKeys = new Set(Object.keys(MATRIX).filter((k) => k !== 'GET /*'));
    expect([...keys].sort()).toEqual([...matrixKeys].sort());
    // an automatic HEAD route carries the permission of its GET
    for (const r of routes.filter((x) => x.method === 'HEAD')) {
      const twin = routes.find((x) => x.method === 'GET' && x.url === r.url);
      expect(twin?.permission, `HEAD ${r.url}`).toEqual(r.permission);
    }
  });

  for (const route of Object.keys(MATRIX).filter((k) => k !== 'GET /*')) {
    it(`${route}: each role gets exactly what it should`, async () => {
      for (const who of WHO) {
        try {
          await MATRIX[route]!(who);
        } catch (err) {
          throw new Error(`${route} as ${who}: ${(err as Error).message}`, { cause: err });
        }
      }
    });
  }
});
