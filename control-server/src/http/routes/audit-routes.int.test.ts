import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAuthTestApp, login, type AuthTestApp, type LoggedIn } from '../../test-support/auth.js';
import type { AuditEntryView } from './audit-routes.js';

/** GET /api/audit, /api/audit/verify, /api/audit/export on a real SQLite log, auth required. */
describe('audit read API', () => {
  let t: AuthTestApp;
  let adm1: LoggedIn;
  let itAll: LoggedIn;
  let itAdm1: LoggedIn;

  beforeAll(async () => {
    t = await buildAuthTestApp();
    await t.addUser('adm1', [{ role: 'site_admin', site: 's1' }]);
    await t.addUser('adm2', [{ role: 'site_admin', site: 's2' }]);
    await t.addUser('itAll', [{ role: 'regional_it', site: '*' }]);
    await t.addUser('itAdm1', [
      { role: 'regional_it', site: '*' },
      { role: 'site_admin', site: 's1' },
    ]);
    adm1 = await login(t.app, 'adm1');
    itAll = await login(t.app, 'itAll');
    itAdm1 = await login(t.app, 'itAdm1');
    // personal-data rows of both sites, as the people and privacy services write them
    for (const site of ['s1', 's2']) {
      t.audit.append({
        actor: `adm-${site}`,
        role: 'site_admin',
        site,
        action: 'people.export',
        outcome: 'ok',
        target: 'student:42',
        details: { sections: ['consent', 'credentials'], externalId: 'ELEVE-0042' },
      });
      t.audit.append({
        actor: `adm-${site}`,
        role: 'site_admin',
        site,
        action: 'retention.set',
        outcome: 'ok',
        target: null,
        details: { accessEventsDays: 30 },
      });
    }
  });
  afterAll(async () => {
    await t?.close();
  });

  const read = (s: LoggedIn, query = '') =>
    t.app.inject({ method: 'GET', url: `/api/audit${query}`, headers: s.headers });
  const entries = (res: { json: <T>() => T }) => res.json<{ entries: AuditEntryView[] }>().entries;

  it('shows a site admin the rows of its sites only, newest first, with their details', async () => {
    const res = await read(adm1, '?limit=500');
    expect(res.statusCode).toBe(200);
    const rows = entries(res);
    expect(rows.length).toBeGreaterThan(0);
    expect(new Set(rows.map((r) => r.site))).toEqual(new Set(['s1']));
    expect(rows.map((r) => r.seq)).toEqual([...rows.map((r) => r.seq)].sort((a, b) => b - a));
    const exp = rows.find((r) => r.action === 'people.export')!;
    expect(exp.detailsWithheld).toBe(false);
    expect(exp.details).toMatchObject({ externalId: 'ELEVE-0042' });
    // another site, or the server-wide rows, are not its to read
    expect((await read(adm1, '?site=s2')).statusCode).toBe(403);
    expect((await read(adm1, '?site=*')).statusCode).toBe(403);
  });

  it('shows regional IT every row, with the details of personal-data rows withheld unless it administers the site', async () => {
    const all = entries(await read(itAll, '?limit=500'));
    const sites = new Set(all.map((r) => r.site));
    expect(sites.has('s1') && sites.has('s2') && sites.has(null)).toBe(true);
    for (const r of all.filter((x) => x.action === 'people.export')) {
      // the action, who, when and the pseudonymous target stay; what was read does not
      expect(r.target).toBe('student:42');
      expect(r.details).toBeNull();
      expect(r.detailsWithheld).toBe(true);
    }
    expect(all.find((r) => r.action === 'retention.set')!.details).toEqual({ accessEventsDays: 30 });
    expect(JSON.stringify(all)).not.toContain('ELEVE-0042');

    // regional IT that is also site admin of s1 sees the details of s1, not of s2
    const mixed = entries(await read(itAdm1, '?action=people.export'));
    const bySite = Object.fromEntries(mixed.map((r) => [r.site, r.detailsWithheld]));
    expect(bySite).toEqual({ s1: false, s2: true });
  });

  it('filters by site, actor, action prefix and time, and pages with a cursor', async () => {
    const byActor = entries(await read(itAll, '?actor=adm-s2'));
    expect(byActor.map((r) => r.action).sort()).toEqual(['people.export', 'retention.set']);
    // `auth` matches auth.login, never a row whose action merely starts with the letters
    const auth = entries(await read(itAll, '?action=auth&limit=500'));
    expect(auth.length).toBeGreaterThan(0);
    expect(auth.every((r) => r.action.startsWith('auth.'))).toBe(true);
    // LIKE wildcards are plain characters
    expect(entries(await read(itAll, '?action=a_th'))).toEqual([]);
    expect(entries(await read(itAll, '?site=s2&limit=500')).every((r) => r.site === 's2')).toBe(true);
    expect(entries(await read(itAll, '?to=2000-01-01'))).toEqual([]);
    expect(entries(await read(itAll, '?from=2000-01-01&limit=1'))).toHaveLength(1);

    const seen: number[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 100; page++) {
      const res = await read(itAll, `?limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      const body = res.json<{ entries: AuditEntryView[]; nextCursor: string | null }>();
      seen.push(...body.entries.map((r) => r.seq));
      cursor = body.nextCursor;
      if (cursor === null) break;
    }
    // every row once, newest first (the reads themselves add rows above the first page, not inside)
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual([...seen].sort((a, b) => b - a));
    expect(Math.min(...seen)).toBe(1);

    for (const bad of ['?from=yesterday', '?cursor=abc', '?action=a%20b', '?site=..%2F..', '?limit=0']) {
      const res = await read(itAll, bad);
      expect(res.statusCode, bad).toBe(400);
    }
  });

  it('audits every read, check and export', async () => {
    const before = t.audit.head().seq;
    await read(adm1, '?action=retention');
    await t.app.inject({ method: 'GET', url: '/api/audit/verify', headers: adm1.headers });
    await t.app.inject({ method: 'GET', url: '/api/audit/export', headers: adm1.headers });
    const rows = [...t.audit.iterate({ afterSeq: before })];
    expect(rows.map((r) => `${r.actor} ${r.action} ${r.site}`)).toEqual([
      'adm1 audit.read s1',
      'adm1 audit.verify *',
      'adm1 audit.export s1',
    ]);
    expect(rows[0]!.details).toMatchObject({ filters: { action: 'retention' }, rows: 1 });
  });

  it('exports JSON lines in chain order; a global export of an unredacted reader verifies', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/api/audit/export?site=s1', headers: adm1.headers });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/x-ndjson/);
    expect(res.headers['content-disposition']).toMatch(
      /attachment; filename="portail-audit-s1-\d{4}-\d{2}-\d{2}\.jsonl"/,
    );
    const lines = res.body
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as AuditEntryView);
    expect(lines.every((l) => l.site === 's1')).toBe(true);
    expect(lines.map((l) => l.seq)).toEqual([...lines.map((l) => l.seq)].sort((a, b) => a - b));
    // the export recorded itself first
    expect(lines.at(-1)!.action).toBe('audit.export');
  });

  it('verifies the chain, and reports the row an edit broke', async () => {
    const ok = await t.app.inject({ method: 'GET', url: '/api/audit/verify', headers: itAll.headers });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({ ok: true, start: { seq: 0 } });
    expect(ok.json<{ rows: number }>().rows).toBe(t.audit.head().seq - 1);

    // an edit behind SQLite's back (the append-only trigger dropped, as an intruder with the file would)
    t.db.exec('DROP TRIGGER audit_log_no_update');
    t.db.prepare("UPDATE audit_log SET actor = 'someone-else' WHERE seq = 3").run();
    const broken = await t.app.inject({ method: 'GET', url: '/api/audit/verify', headers: itAll.headers });
    expect(broken.json()).toMatchObject({ ok: false, seq: 3, reason: 'hash does not match the row content' });
    expect([...t.audit.iterate()].at(-1)).toMatchObject({ action: 'audit.verify', outcome: 'failed' });
  });

  it('refuses accounts without audit:read', async () => {
    await t.addUser('rec1', [{ role: 'reception', site: 's1' }]);
    const rec = await login(t.app, 'rec1');
    for (const url of ['/api/audit', '/api/audit/verify', '/api/audit/export']) {
      expect((await t.app.inject({ method: 'GET', url, headers: rec.headers })).statusCode, url).toBe(403);
      expect((await t.app.inject({ method: 'GET', url })).statusCode, url).toBe(401);
    }
  });
});
