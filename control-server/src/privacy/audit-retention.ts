import type { Database } from 'better-sqlite3';
import { auditChainStart, verifyAuditRows, type AuditHead, type AuditRow } from '../audit/audit-log.js';

/**
 * Retention of the audit log. The log is one hash chain, so only its oldest rows can go, as a
 * contiguous prefix: a checkpoint row (append-only table) records the sequence number and hash of
 * the last row removed, and verification of what remains starts from it (`auditChainStart`). The
 * trigger of migration 40 refuses to delete any row a checkpoint does not already cover. The
 * prefix is verified before it is removed, so a purge never erases the evidence of an edit.
 */

export type AuditPurgeResult =
  | { ok: true; rowsRemoved: 0 }
  | { ok: true; rowsRemoved: number; checkpoint: AuditHead; previousStart: AuditHead; cutoff: string }
  | { ok: false; rowsRemoved: 0; reason: string };

interface Row {
  seq: number;
  ts: string;
  actor: string;
  role: string | null;
  site: string | null;
  action: string;
  target: string | null;
  outcome: AuditRow['outcome'];
  ip: string | null;
  details: string;
  prev_hash: string;
  hash: string;
}

const toAuditRow = (x: Row): AuditRow => ({
  seq: x.seq,
  ts: x.ts,
  actor: x.actor,
  role: x.role,
  site: x.site,
  action: x.action,
  target: x.target,
  outcome: x.outcome,
  ip: x.ip,
  details: JSON.parse(x.details) as Record<string, unknown>,
  prevHash: x.prev_hash,
  hash: x.hash,
});

/**
 * Remove the rows older than `cutoff` (ISO time) from the start of the chain, never the newest row
 * (the chain must keep a tail to append to). A row dated after the cutoff stops the prefix even if
 * older rows follow it (a clock set back): nothing younger than the policy is ever removed.
 */
export function purgeAuditLogBefore(db: Database, cutoff: string, o: { actor: string; at: string }): AuditPurgeResult {
  const tx = db.transaction((): AuditPurgeResult => {
    const start = auditChainStart(db);
    const first = db
      .prepare<[number], { seq: number; ts: string }>(
        'SELECT seq, ts FROM audit_log WHERE seq > ? ORDER BY seq LIMIT 1',
      )
      .get(start.seq);
    // fast path, every run but the first of a day or so: the oldest row kept is not due yet
    if (!first || first.ts >= cutoff) return { ok: true, rowsRemoved: 0 };
    const maxSeq = db.prepare<[], { m: number }>('SELECT max(seq) AS m FROM audit_log').get()!.m;
    const firstKept = db
      .prepare<[number, string], { s: number | null }>('SELECT min(seq) AS s FROM audit_log WHERE seq > ? AND ts >= ?')
      .get(start.seq, cutoff)!.s;
    const upto = Math.min((firstKept ?? maxSeq + 1) - 1, maxSeq - 1);
    if (upto <= start.seq) return { ok: true, rowsRemoved: 0 };
    const last = db.prepare<[number], { hash: string }>('SELECT hash FROM audit_log WHERE seq = ?').get(upto);
    if (!last) return { ok: false, rowsRemoved: 0, reason: `row ${upto} is missing` };
    const checkpoint: AuditHead = { seq: upto, hash: last.hash };
    const prefix = db
      .prepare<[number, number], Row>('SELECT * FROM audit_log WHERE seq > ? AND seq <= ? ORDER BY seq')
      .iterate(start.seq, upto);
    const verified = verifyAuditRows(
      (function* () {
        for (const r of prefix) yield toAuditRow(r);
      })(),
      checkpoint,
      start,
    );
    if (!verified.ok) {
      return {
        ok: false,
        rowsRemoved: 0,
        reason: `the rows to remove do not verify (row ${verified.seq}: ${verified.reason})`,
      };
    }
    db.prepare(
      `INSERT INTO audit_log_checkpoints (upto_seq, upto_hash, rows_removed, cutoff, created_at, actor)
       VALUES (?, ?, ?, ?, ?, ?)`,
    ).run(upto, last.hash, verified.rows, cutoff, o.at, o.actor);
    const removed = db.prepare('DELETE FROM audit_log WHERE seq <= ?').run(upto).changes;
    return { ok: true, rowsRemoved: removed, checkpoint, previousStart: start, cutoff };
  });
  // IMMEDIATE: the same write lock the appenders take, so no row is appended between check and delete
  return tx.immediate();
}
