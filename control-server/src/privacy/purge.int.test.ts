import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { auditChainStart, createAuditLog, verifyAuditRows, type AuditLog, type AuditRow } from '../audit/audit-log.js';
import { runAdminCli } from '../cli/admin-cli.js';
import { getPeopleSite } from '../people/people-sites.js';
import { findStudent, listReceipts } from '../people/people-store.js';
import { importRegistry } from '../people/registry-import.js';
import { generateStudents, openPeopleTestEnv, registryCsv, type PeopleTestEnv } from '../people/testing.js';
import { createVisitorService } from '../people/visitors.js';
import { createWithdrawalService } from '../people/withdrawal.js';
import { createAgentRepository } from '../repositories/agent-repository.js';
import { createEventRepository, type EventRepository } from '../repositories/event-repository.js';
import { createPrivacyService, type PrivacyService } from './privacy-service.js';
import { accessEventAt, cameraEventAt, movementEventAt } from './testing.js';

/**
 * Acceptance 3 (retention): with a fake clock and real SQLite files, events older than the policy
 * disappear at the next purge, receipts are written, nothing younger is touched.
 */

const DAY = 86_400_000;
const MIN = 60_000;
const T0 = Date.parse('2026-03-02T10:00:00.000Z');

describe('retention purge (real SQLite, fake clock)', () => {
  let env: PeopleTestEnv;
  let clock: { ms: number };
  let audit: AuditLog;
  let events: EventRepository;
  let privacy: PrivacyService;
  const now = () => new Date(clock.ms);

  beforeEach(() => {
    env = openPeopleTestEnv('portail-privacy-purge-');
    clock = { ms: T0 };
    audit = createAuditLog(env.db, { now: () => clock.ms });
    events = createEventRepository(env.db);
    privacy = createPrivacyService({
      db: env.db,
      audit,
      keys: env.keys,
      agents: createAgentRepository(env.db),
      now,
      // small batches, so the batch loop is exercised
      purgeBatchSize: 3,
    });
  });
  afterEach(() => env.close());

  const ids = (site: string, kind: string) =>
    env.db
      .prepare<[string, string], { id: string }>('SELECT id FROM events WHERE site = ? AND kind = ? ORDER BY id')
      .all(site, kind)
      .map((r) => r.id)
      .sort();
  const auditRows = (): AuditRow[] => [...audit.iterate()];
  const purgeRows = (site: string) => auditRows().filter((r) => r.action === 'retention.purge' && r.site === site);

  it('deletes events older than the site policy, by edge or server time, and touches nothing younger', async () => {
    expect(
      privacy.setRetention('s1', { accessEventsDays: 10, movementEventsDays: 5, cameraEventsDays: 20 }, 'adm').ok,
    ).toBe(true);
    const at = (ageMs: number) => T0 - ageMs;
    const rec = (ageMs: number) => new Date(T0 - ageMs).toISOString();
    const put = <E extends { id: string }>(kind: 'access' | 'movement' | 'camera', e: E, receivedAgeMs: number) => {
      events.insert(kind, e as never, rec(receivedAgeMs));
      return e.id;
    };
    const old: string[] = [];
    const young: string[] = [];
    // s1, access (10 days)
    old.push(put('access', accessEventAt('s1', at(11 * DAY)), 11 * DAY));
    old.push(put('access', accessEventAt('s1', at(10 * DAY + MIN)), 10 * DAY + MIN));
    young.push(put('access', accessEventAt('s1', at(10 * DAY - MIN)), 10 * DAY - MIN));
    young.push(put('access', accessEventAt('s1', at(9 * DAY)), 9 * DAY));
    // replayed late from an outbox: the passage is 12 days old although received an hour ago
    old.push(put('access', accessEventAt('s1', at(12 * DAY)), 3_600_000));
    // an agent whose clock runs a year ahead: received 11 days ago
    old.push(put('access', accessEventAt('s1', T0 + 365 * DAY), 11 * DAY));
    // s1, movement (5 days) and camera (20 days)
    const mOld = put('movement', movementEventAt('s1', at(6 * DAY)), 6 * DAY);
    const mYoung = put('movement', movementEventAt('s1', at(2 * DAY)), 2 * DAY);
    const cOld = put('camera', cameraEventAt('s1', at(21 * DAY)), 21 * DAY);
    const cYoung = put('camera', cameraEventAt('s1', at(17 * DAY)), 17 * DAY);
    // s2 keeps the defaults (access 30 days)
    const s2Young = put('access', accessEventAt('s2', at(11 * DAY)), 11 * DAY);
    const s2Old = put('access', accessEventAt('s2', at(31 * DAY)), 31 * DAY);

    const report = await privacy.runPurge({ trigger: 'startup' });

    expect(ids('s1', 'access')).toEqual([...young].sort());
    expect(ids('s1', 'movement')).toEqual([mYoung]);
    expect(ids('s1', 'camera')).toEqual([cYoung]);
    expect(ids('s2', 'access')).toEqual([s2Young]);
    const left = env.db
      .prepare<[], { id: string }>('SELECT id FROM events')
      .all()
      .map((r) => r.id);
    for (const id of [...old, mOld, cOld, s2Old]) expect(left).not.toContain(id);

    const s1 = report.sites.find((s) => s.site === 's1')!;
    expect(s1.deleted).toMatchObject({ accessEvents: 4, movementEvents: 1, cameraEvents: 1 });
    expect(s1.cutoffs.accessEvents).toBe(new Date(T0 - 10 * DAY).toISOString());
    expect(s1.cutoffs.movementEvents).toBe(new Date(T0 - 5 * DAY).toISOString());
    expect(s1.cutoffs.cameraEvents).toBe(new Date(T0 - 20 * DAY).toISOString());
    expect(report.sites.find((s) => s.site === 's2')!.deleted.accessEvents).toBe(1);

    // one receipt per site in the audit log: counts per category and cut-offs
    const [r1] = purgeRows('s1');
    expect(purgeRows('s1')).toHaveLength(1);
    expect(r1!.actor).toBe('system');
    expect(r1!.details).toMatchObject({
      trigger: 'startup',
      deleted: { accessEvents: 4, movementEvents: 1, cameraEvents: 1 },
      cutoffs: { accessEvents: new Date(T0 - 10 * DAY).toISOString() },
      policy: { accessEventsDays: 10, movementEventsDays: 5, cameraEventsDays: 20 },
    });
    expect(purgeRows('s2')[0]!.details).toMatchObject({ deleted: { accessEvents: 1 } });
    expect(verifyAuditRows(audit.iterate()).ok).toBe(true);

    // the next run, 2 days later: the two that were just under 10 days go, the rest stays
    clock.ms = T0 + 2 * DAY;
    const again = await privacy.runPurge({ trigger: 'schedule' });
    expect(ids('s1', 'access')).toEqual([]);
    expect(ids('s1', 'movement')).toEqual([mYoung]);
    expect(ids('s1', 'camera')).toEqual([cYoung]);
    expect(ids('s2', 'access')).toEqual([s2Young]);
    expect(again.sites.find((s) => s.site === 's1')!.deleted.accessEvents).toBe(2);
    expect(purgeRows('s1')).toHaveLength(2);
    expect(purgeRows('s2')).toHaveLength(1);

    // and a run with nothing due writes no per-site receipt (a heartbeat at most once a day)
    const quiet = await privacy.runPurge({ trigger: 'schedule' });
    expect(quiet.totalDeleted).toBe(0);
    expect(purgeRows('s1')).toHaveLength(2);
  });

  it('deletes supervisors\' alert acknowledgements (free-text notes) with the shorter of the access and movement retentions', async () => {
    expect(privacy.setRetention('s1', { accessEventsDays: 10, movementEventsDays: 5 }, 'adm').ok).toBe(true);
    const ack = env.db.prepare(
      `INSERT INTO alert_acks (alert_id, site, kind, agent, camera, alert_ts, acked_at, acked_by, note)
       VALUES (?, ?, 'wrong_way', 'gate-1', 'hall', ?, ?, 'sup', 'a note')`,
    );
    const iso = (ageMs: number) => new Date(T0 - ageMs).toISOString();
    ack.run('old', 's1', iso(6 * DAY), iso(6 * DAY));
    ack.run('young', 's1', iso(4 * DAY), iso(4 * DAY));
    // s2 keeps the defaults (30 days)
    ack.run('other-site', 's2', iso(6 * DAY), iso(6 * DAY));
    const report = await privacy.runPurge({ trigger: 'schedule' });
    const left = env.db
      .prepare<[], { alert_id: string }>('SELECT alert_id FROM alert_acks ORDER BY alert_id')
      .all()
      .map((r) => r.alert_id);
    expect(left).toEqual(['other-site', 'young']);
    expect(report.sites.find((r) => r.site === 's1')?.deleted.alertAcks).toBe(1);
  });

  it('refuses periods beyond the hard maximum and reads stored values within the limits', () => {
    const over = privacy.setRetention('s1', { accessEventsDays: 91 }, 'adm');
    expect(over.ok).toBe(false);
    if (!over.ok) expect(over.error.message).toMatch(/at most 90 days/);
    expect(privacy.setRetention('s1', { visitorsDays: 93 }, 'adm').ok).toBe(false);
    expect(privacy.setRetention('s1', { unknownDays: 3 }, 'adm').ok).toBe(false);
    expect(privacy.setServerRetention({ auditLogDays: 100 }, 'adm').ok).toBe(false);
    // a value written by hand (or under an older maximum) is clamped when read
    env.db
      .prepare("INSERT INTO privacy_sites (site, retention, updated_at, updated_by) VALUES ('s9', ?, 'x', 'x')")
      .run(JSON.stringify({ accessEventsDays: 400, movementEventsDays: 0 }));
    expect(privacy.retention('s9').policy).toMatchObject({
      accessEventsDays: 90,
      movementEventsDays: 1,
      cameraEventsDays: 90,
    });
    expect(privacy.retention('s1').policy).toEqual({
      accessEventsDays: 30,
      movementEventsDays: 30,
      cameraEventsDays: 90,
      visitorsDays: 90,
      departedStudentsDays: 30,
    });
  });

  it('visitors and departed students go through the people module, with receipts', async () => {
    const visitors = createVisitorService({ db: env.db, keys: env.keys, now });
    const withdrawal = createWithdrawalService({ db: env.db, keys: env.keys, now });
    const students = generateStudents(3, 7);
    expect(
      importRegistry(env.db, { site: 'lycee', bytes: Buffer.from(registryCsv(students)), actor: 'test', now: now() })
        .ok,
    ).toBe(true);
    const reg = (last: string) => {
      const r = visitors.register({
        site: 'lycee',
        lastName: last,
        firstName: 'Anne',
        purpose: 'rendez-vous',
        host: 'CPE',
        idDocumentType: 'id_card',
        actor: 'accueil',
      });
      if (!r.ok) throw new Error(r.error.message);
      r.value.pass.token.fill(0);
      return r.value.visitor.id;
    };
    // registered under the people default (90 days), then the site sets 30: the purge clamps it
    const early = reg('Avant');
    expect(privacy.setRetention('lycee', { visitorsDays: 30, departedStudentsDays: 10 }, 'adm').ok).toBe(true);
    expect(getPeopleSite(env.db, 'lycee')!.settings.visitorRetentionDays).toBe(30);
    clock.ms = T0 + 5 * DAY;
    const later = reg('Apres');
    const leaver = findStudent(env.db, 'lycee', students[0]!.externalId)!;
    expect(withdrawal.departStudent(leaver.id, { actor: 'test' }).ok).toBe(true);

    // day 30 after the first visit: still kept (purged after its last day)
    clock.ms = T0 + 30 * DAY;
    await privacy.runPurge({ trigger: 'schedule' });
    const visitorIds = () =>
      env.db
        .prepare<[], { id: number }>('SELECT id FROM visitors ORDER BY id')
        .all()
        .map((r) => r.id);
    expect(visitorIds()).toEqual([early, later]);
    // departed 5 days after T0, kept 10 days: erased by now
    expect(findStudent(env.db, 'lycee', students[0]!.externalId)).toBeUndefined();
    expect(findStudent(env.db, 'lycee', students[1]!.externalId)).toBeDefined();

    clock.ms = T0 + 31 * DAY;
    const report = await privacy.runPurge({ trigger: 'schedule' });
    expect(visitorIds()).toEqual([later]);
    const site = report.sites.find((s) => s.site === 'lycee')!;
    expect(site.deleted.visitors).toBe(1);
    const receipts = listReceipts(env.db, 'lycee');
    expect(receipts.some((r) => r.subject === `visitor:${early}` && r.reason === 'retention')).toBe(true);
    expect(receipts.some((r) => r.subject === `student:${leaver.id}` && r.reason === 'retention')).toBe(true);
    expect(purgeRows('lycee').at(-1)!.details).toMatchObject({ deleted: { visitors: 1 } });

    clock.ms = T0 + 36 * DAY;
    await privacy.runPurge({ trigger: 'schedule' });
    expect(visitorIds()).toEqual([]);
  });

  it('removes the oldest audit rows after a checkpoint; what remains verifies, by the CLI too', async () => {
    expect(privacy.setServerRetention({ auditLogDays: 183 }, 'cli:root').ok).toBe(true);
    for (let i = 0; i < 5; i++) audit.append({ actor: 'adm', action: 'events.read', outcome: 'ok', site: 's1' });
    clock.ms = T0 + 100 * DAY;
    audit.append({ actor: 'adm', action: 'events.read', outcome: 'ok', site: 's1', target: 'recent' });
    const before = audit.count();

    // nothing is 183 days old yet
    clock.ms = T0 + 150 * DAY;
    expect((await privacy.runPurge({ trigger: 'schedule' })).auditLog.rowsRemoved).toBe(0);

    clock.ms = T0 + 200 * DAY;
    const report = await privacy.runPurge({ trigger: 'schedule' });
    // the 5 reads of T0 are older than 183 days; the one of day 100 is not
    expect(report.auditLog.rowsRemoved).toBe(5);
    const start = auditChainStart(env.db);
    expect(start.seq).toBe(5);
    const rows = auditRows();
    expect(rows[0]!.seq).toBe(6);
    expect(rows[0]!.target).toBe('recent');
    // + the heartbeat of the 150-day run + the audit.retention row of this one
    expect(rows.length).toBe(before - 5 + 2);
    expect(rows.find((r) => r.action === 'audit.retention')!.details).toMatchObject({
      rowsRemoved: 5,
      checkpoint: { seq: 5 },
      auditLogDays: 183,
    });
    expect(verifyAuditRows(rows, undefined, start).ok).toBe(true);
    // from the origin, the same rows do not verify: the checkpoint is what vouches for the start
    expect(verifyAuditRows(rows).ok).toBe(false);
    // a row the checkpoint does not cover still cannot be deleted
    expect(() => env.db.prepare('DELETE FROM audit_log WHERE seq = ?').run(rows.at(-1)!.seq)).toThrow(/append-only/);

    const stdout = new PassThrough();
    let out = '';
    stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    const code = await runAdminCli(['--data-dir', env.dataDir, 'audit', 'verify'], {
      stdin: new PassThrough(),
      stdout,
      stderr: new PassThrough(),
      env: {},
      cwd: env.dataDir,
    });
    expect(code).toBe(0);
    expect(out).toMatch(/audit log OK: 3 row\(s\) after retention checkpoint 5:[0-9a-f]{64}/);

    // an export starts after the checkpoint: it verifies only with --start, the anchor printed above
    const cli = async (...args: string[]) => {
      const o = new PassThrough();
      let text = '';
      o.on('data', (c: Buffer) => (text += c.toString('utf8')));
      const e = new PassThrough();
      e.on('data', (c: Buffer) => (text += c.toString('utf8')));
      const rc = await runAdminCli(['--data-dir', env.dataDir, ...args], {
        stdin: new PassThrough(),
        stdout: o,
        stderr: e,
        env: {},
        cwd: env.dataDir,
      });
      return { rc, text };
    };
    const exported = await cli('audit', 'export', '--out', 'audit.jsonl');
    expect(exported.rc).toBe(0);
    expect(exported.text).toMatch(/chain starts after retention checkpoint 5:/);
    expect((await cli('audit', 'verify', '--file', 'audit.jsonl')).rc).toBe(1);
    const anchored = await cli('audit', 'verify', '--file', 'audit.jsonl', '--start', `${start.seq}:${start.hash}`);
    expect(anchored.rc).toBe(0);
  });

  it('never removes the newest audit row: the chain keeps a tail to append to', async () => {
    for (let i = 0; i < 3; i++) audit.append({ actor: 'adm', action: 'x', outcome: 'ok' });
    clock.ms = T0 + 400 * DAY;
    const report = await privacy.runPurge({ trigger: 'schedule' });
    expect(report.auditLog.rowsRemoved).toBe(2);
    const rows = auditRows();
    expect(rows.map((r) => r.seq)).toEqual([3, 4]);
    expect(verifyAuditRows(rows, undefined, auditChainStart(env.db)).ok).toBe(true);
  });

  it('refuses to remove a prefix that does not verify: a purge never erases the evidence of an edit', async () => {
    for (let i = 0; i < 3; i++) audit.append({ actor: 'adm', action: 'x', outcome: 'ok' });
    // tamper with row 2 through a copy of the trigger-free path: drop and restore the trigger
    env.db.exec('DROP TRIGGER audit_log_no_update');
    env.db.prepare("UPDATE audit_log SET actor = 'forged' WHERE seq = 2").run();
    env.db.exec(
      "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;",
    );
    audit.append({ actor: 'adm', action: 'y', outcome: 'ok' });
    clock.ms = T0 + 400 * DAY;
    const report = await privacy.runPurge({ trigger: 'schedule' });
    expect(report.auditLog.ok).toBe(false);
    expect(auditChainStart(env.db).seq).toBe(0);
    expect(auditRows().at(-1)!.action).toBe('retention.purge');
    expect(auditRows().some((r) => r.action === 'audit.retention' && r.outcome === 'failed')).toBe(true);
  });
});
