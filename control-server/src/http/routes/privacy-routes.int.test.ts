import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findStudent } from '../../people/people-store.js';
import { importRegistry } from '../../people/registry-import.js';
import { generateStudents, registryCsv } from '../../people/testing.js';
import { accessEventAt } from '../../privacy/testing.js';
import { buildAuthTestApp, login, type AuthTestApp, type LoggedIn } from '../../test-support/auth.js';

/** The privacy routes through the real server (auth required, real SQLite): what they return and what they audit. */

const DAY = 86_400_000;

describe('privacy routes', () => {
  let t: AuthTestApp;
  let admin: LoggedIn;
  let dsi: LoggedIn;
  const students = generateStudents(4, 21);
  const studentId = (i: number) => findStudent(t.db, 'lycee', students[i]!.externalId)!.id;
  const auditOf = (action: string) => [...t.audit.iterate()].filter((r) => r.action === action);

  beforeAll(async () => {
    t = await buildAuthTestApp();
    await t.addUser('proviseur', [{ role: 'site_admin', site: 'lycee' }]);
    await t.addUser('dsi', [{ role: 'regional_it', site: '*' }]);
    admin = await login(t.app, 'proviseur');
    dsi = await login(t.app, 'dsi');
    expect(
      importRegistry(t.db, {
        site: 'lycee',
        bytes: Buffer.from(registryCsv(students)),
        actor: 'test',
        now: new Date(t.clock.nowMs),
      }).ok,
    ).toBe(true);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('exports a student as JSON with its summary, or as Markdown, and audits each export', async () => {
    const id = studentId(0);
    const json = await t.app.inject({
      method: 'GET',
      url: `/api/sites/lycee/privacy/students/${id}/export`,
      headers: admin.headers,
    });
    expect(json.statusCode).toBe(200);
    const body = json.json<{ export: { student: { lastName: string } }; summary: string }>();
    expect(body.export.student.lastName).toBe(students[0]!.lastName);
    expect(body.summary).toContain('# Données détenues sur un élève');
    const md = await t.app.inject({
      method: 'GET',
      url: `/api/sites/lycee/privacy/students/${id}/export?format=md`,
      headers: admin.headers,
    });
    expect(md.headers['content-type']).toMatch(/^text\/markdown; charset=utf-8/);
    expect(md.headers['content-disposition']).toBe(`attachment; filename="donnees-eleve-${id}.md"`);
    expect(md.body).toContain(`| Nom | ${students[0]!.lastName} |`);
    const rows = auditOf('people.export');
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({
      actor: 'proviseur',
      site: 'lycee',
      target: `student:${id}`,
      outcome: 'ok',
      role: 'site_admin',
    });
    // ids only in the audit log, never a name
    expect(JSON.stringify(rows)).not.toContain(students[0]!.lastName);
    // an unknown student: 404, audited as failed
    const missing = await t.app.inject({
      method: 'GET',
      url: '/api/sites/lycee/privacy/students/99999/export',
      headers: admin.headers,
    });
    expect(missing.statusCode).toBe(404);
    expect(auditOf('people.export').at(-1)).toMatchObject({ outcome: 'failed', target: 'student:99999' });
  });

  it('regional IT is refused a student export, and the refusal is audited', async () => {
    const res = await t.app.inject({
      method: 'GET',
      url: `/api/sites/lycee/privacy/students/${studentId(0)}/export`,
      headers: dsi.headers,
    });
    expect(res.statusCode).toBe(403);
    expect(auditOf('access.denied').at(-1)).toMatchObject({ actor: 'dsi', site: 'lycee', outcome: 'denied' });
  });

  it('erases on request (even without a body) and audits the receipt', async () => {
    const id = studentId(1);
    const res = await t.app.inject({
      method: 'POST',
      url: `/api/sites/lycee/privacy/students/${id}/erase`,
      headers: admin.headers,
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ studentId: id, receipt: { reason: 'erasure-request', actor: 'proviseur' } });
    expect(findStudent(t.db, 'lycee', students[1]!.externalId)).toBeUndefined();
    expect(auditOf('people.erase').at(-1)).toMatchObject({ target: `student:${id}`, outcome: 'ok' });
    const again = await t.app.inject({
      method: 'POST',
      url: `/api/sites/lycee/privacy/students/${id}/erase`,
      headers: admin.headers,
    });
    expect(again.statusCode).toBe(404);
  });

  it('sets the retention policy within its limits, audits before/after, and purges on request', async () => {
    const put = await t.app.inject({
      method: 'PUT',
      url: '/api/sites/lycee/privacy/retention',
      headers: admin.headers,
      payload: { accessEventsDays: 7 },
    });
    expect(put.statusCode).toBe(200);
    expect(put.json()).toMatchObject({ retention: { policy: { accessEventsDays: 7 }, updatedBy: 'proviseur' } });
    expect(auditOf('retention.set').at(-1)!.details).toMatchObject({
      before: { accessEventsDays: 30 },
      after: { accessEventsDays: 7 },
    });
    const tooLong = await t.app.inject({
      method: 'PUT',
      url: '/api/sites/lycee/privacy/retention',
      headers: admin.headers,
      payload: { visitorsDays: 120 },
    });
    expect(tooLong.statusCode).toBe(400);

    const old = accessEventAt('lycee', t.clock.nowMs - 8 * DAY);
    const recent = accessEventAt('lycee', t.clock.nowMs - 6 * DAY);
    t.events.insert('access', old, new Date(t.clock.nowMs - 8 * DAY).toISOString());
    t.events.insert('access', recent, new Date(t.clock.nowMs - 6 * DAY).toISOString());
    const purge = await t.app.inject({ method: 'POST', url: '/api/sites/lycee/privacy/purge', headers: admin.headers });
    expect(purge.statusCode).toBe(200);
    expect(purge.json()).toMatchObject({ site: { site: 'lycee', deleted: { accessEvents: 1 } } });
    const ids = t.db
      .prepare<[], { id: string }>("SELECT id FROM events WHERE site = 'lycee'")
      .all()
      .map((r) => r.id);
    expect(ids).toEqual([recent.id]);
    expect(auditOf('retention.purge.request').at(-1)).toMatchObject({ actor: 'proviseur', site: 'lycee' });
    expect(auditOf('retention.purge').at(-1)).toMatchObject({ actor: 'proviseur', site: 'lycee' });
    const view = await t.app.inject({ method: 'GET', url: '/api/sites/lycee/privacy/retention', headers: dsi.headers });
    expect(view.json()).toMatchObject({ retention: { lastPurge: { deleted: { accessEvents: 1 } } } });
  });

  it('gives equal-service figures per gate over a period, and checks the period', async () => {
    const base = Date.parse('2026-02-10T08:00:00.000Z');
    const put = (agent: string, biometric: boolean, ms: number, offset: number) =>
      t.events.insert(
        'access',
        accessEventAt('lycee', base + offset, {
          agent,
          biometric,
          decision: biometric ? 'confirmed' : 'accepted',
          timingsMs: biometric ? { credential: 2, window: ms - 2, compare: 0 } : { credential: ms },
        }),
        new Date(base + offset).toISOString(),
      );
    [1, 2, 3].forEach((ms, i) => put('gate-a', false, ms, i * 1000));
    [600, 900].forEach((ms, i) => put('gate-a', true, ms, 10_000 + i * 1000));
    put('gate-b', false, 4, 20_000);
    // outside the period
    put('gate-a', false, 50, -DAY);
    const res = await t.app.inject({
      method: 'GET',
      url: '/api/sites/lycee/equal-service?from=2026-02-10&to=2026-02-11',
      headers: dsi.headers,
    });
    expect(res.statusCode).toBe(200);
    const body = res.json<{
      gates: Array<{
        agent: string;
        badgeOnly: { passages: number; medianMs: number; p95Ms: number };
        biometric: { medianMs: number | null };
      }>;
      decisions: Record<string, Record<string, number>>;
    }>();
    expect(body.gates.map((g) => g.agent)).toEqual(['gate-a', 'gate-b']);
    expect(body.gates[0]).toMatchObject({
      badgeOnly: { passages: 3, medianMs: 2, p95Ms: 3 },
      biometric: { passages: 2, medianMs: 750, p95Ms: 900 },
    });
    expect(body.gates[1]).toMatchObject({ badgeOnly: { passages: 1, medianMs: 4 }, biometric: { medianMs: null } });
    expect(body.decisions).toEqual({ badgeOnly: { accepted: 4 }, biometric: { confirmed: 2 } });
    for (const q of ['from=yesterday', 'from=2026-02-11&to=2026-02-10', 'from=2024-01-01&to=2026-02-10']) {
      const bad = await t.app.inject({
        method: 'GET',
        url: `/api/sites/lycee/equal-service?${q}`,
        headers: dsi.headers,
      });
      expect(bad.statusCode, q).toBe(400);
    }
  });

  it('declares a pilot, changes it, and shows it to regional IT', async () => {
    const first = await t.app.inject({
      method: 'PUT',
      url: '/api/sites/lycee/privacy/pilot',
      headers: admin.headers,
      payload: { endsOn: '2026-05-31', criteria: { maxMismatchRate: 0.02 } },
    });
    expect(first.statusCode).toBe(201);
    const second = await t.app.inject({
      method: 'PUT',
      url: '/api/sites/lycee/privacy/pilot',
      headers: admin.headers,
      payload: { endsOn: '2026-06-30' },
    });
    expect(second.statusCode).toBe(200);
    const past = await t.app.inject({
      method: 'PUT',
      url: '/api/sites/lycee/privacy/pilot',
      headers: admin.headers,
      payload: { endsOn: '2025-06-30' },
    });
    expect(past.statusCode).toBe(400);
    const view = await t.app.inject({ method: 'GET', url: '/api/sites/lycee/privacy/pilot', headers: dsi.headers });
    expect(view.json()).toMatchObject({
      state: 'running',
      pilot: { endsOn: '2026-06-30', criteria: { maxMismatchRate: 0.02 } },
    });
    expect(auditOf('pilot.declare')).toHaveLength(1);
    expect(auditOf('pilot.update')[0]!.details).toMatchObject({
      before: { endsOn: '2026-05-31' },
      endsOn: '2026-06-30',
    });
    const register = await t.app.inject({
      method: 'GET',
      url: '/api/sites/lycee/privacy/register',
      headers: dsi.headers,
    });
    expect(register.body).toContain('Pilote du 2026-03-02 au 2026-06-30 : en cours.');
    const asJson = await t.app.inject({
      method: 'GET',
      url: '/api/sites/lycee/privacy/register?format=json',
      headers: dsi.headers,
    });
    expect(asJson.json()).toMatchObject({ register: { site: 'lycee', retention: { accessEventsDays: 7 } } });
  });
});
