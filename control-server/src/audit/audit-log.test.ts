import type { Database } from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../store/database.js';
import { makeTempDir } from '../test-support/fixtures.js';
import {
  auditRowToJsonLine,
  canonicalJson,
  createAuditLog,
  GENESIS_HASH,
  parseAuditJsonLine,
  verifyAuditRows,
  type AuditLog,
  type AuditRow,
} from './audit-log.js';

describe('hash-chained audit log', () => {
  let tmp: ReturnType<typeof makeTempDir>;
  let db: Database;
  let audit: AuditLog;
  let rows: AuditRow[];

  beforeEach(() => {
    tmp = makeTempDir();
    db = openDatabase({ dataDir: tmp.dir });
    audit = createAuditLog(db);
    audit.append({
      actor: 'alice',
      role: 'site_admin',
      site: 's1',
      action: 'auth.login',
      outcome: 'ok',
      ip: '10.0.0.1',
    });
    audit.append({
      actor: 'alice',
      site: 's1',
      action: 'events.read',
      outcome: 'ok',
      target: 'events:2',
      details: { ids: ['a', 'b'], kind: 'access' },
    });
    audit.append({
      actor: 'bob',
      site: 's2',
      action: 'access.denied',
      outcome: 'denied',
      details: { permission: ['users:read'] },
    });
    audit.append({ actor: 'cli:root', site: '*', action: 'user.create', outcome: 'ok', target: 'user:3' });
    rows = [...audit.iterate()];
  });
  afterEach(() => {
    db.close();
    tmp.remove();
  });

  it('chains each row to the previous one from a genesis of zeros', () => {
    expect(rows.map((r) => r.seq)).toEqual([1, 2, 3, 4]);
    expect(rows[0]!.prevHash).toBe(GENESIS_HASH);
    for (let i = 1; i < rows.length; i++) expect(rows[i]!.prevHash).toBe(rows[i - 1]!.hash);
    expect(verifyAuditRows(rows)).toEqual({ ok: true, rows: 4, head: audit.head() });
  });

  it('serialises details with sorted keys, whatever the insertion order', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { z: 1, y: 0 }], c: null } })).toBe(
      '{"a":{"c":null,"d":[2,{"y":0,"z":1}]},"b":1}',
    );
  });

  it('fails on an altered field', () => {
    const altered = rows.map((r) => (r.seq === 2 ? { ...r, details: { ...r.details, ids: ['a'] } } : r));
    expect(verifyAuditRows(altered)).toMatchObject({ ok: false, seq: 2, reason: expect.stringMatching(/hash/) });
    const actor = rows.map((r) => (r.seq === 3 ? { ...r, actor: 'carol' } : r));
    expect(verifyAuditRows(actor)).toMatchObject({ ok: false, seq: 3 });
  });

  it('fails on a deleted row, a reordered pair, and (with the expected head) a truncated tail', () => {
    expect(verifyAuditRows(rows.filter((r) => r.seq !== 2))).toMatchObject({
      ok: false,
      seq: 3,
      reason: 'row 2 is missing',
    });
    const swapped = [rows[0]!, rows[2]!, rows[1]!, rows[3]!];
    expect(verifyAuditRows(swapped)).toMatchObject({ ok: false, seq: 3 });
    // renumbering the swapped rows does not help: their prev_hash no longer follows
    const renumbered = swapped.map((r, i) => ({ ...r, seq: i + 1 }));
    expect(verifyAuditRows(renumbered).ok).toBe(false);
    const head = audit.head();
    expect(verifyAuditRows(rows.slice(0, 3))).toMatchObject({ ok: true });
    expect(verifyAuditRows(rows.slice(0, 3), head)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/removed/),
    });
    expect(verifyAuditRows(rows, head)).toMatchObject({ ok: true });
    expect(verifyAuditRows(rows, { seq: 4, hash: 'f'.repeat(64) })).toMatchObject({ ok: false, seq: 4 });
  });

  it('refuses UPDATE and DELETE through SQLite', () => {
    expect(() => db.prepare("UPDATE audit_log SET actor = 'x' WHERE seq = 1").run()).toThrow(/append-only/);
    expect(() => db.prepare('DELETE FROM audit_log WHERE seq = 4').run()).toThrow(/append-only/);
  });

  it('exports JSON lines that verify back, and filters by site', () => {
    const lines = rows.map(auditRowToJsonLine);
    expect(verifyAuditRows(lines.map(parseAuditJsonLine))).toMatchObject({ ok: true, rows: 4 });
    expect([...audit.iterate({ site: 's1' })].map((r) => r.seq)).toEqual([1, 2, 4]);
  });

  it('keeps the chain across writers (two handles on the same file append in turn)', () => {
    const second = createAuditLog(db);
    second.append({ actor: 'x', action: 'a', outcome: 'ok' });
    audit.append({ actor: 'y', action: 'b', outcome: 'ok' });
    expect(verifyAuditRows(audit.iterate())).toMatchObject({ ok: true, rows: 6 });
  });
});
