import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { EventTopicKey } from '@portail/protocol';
import Database from 'better-sqlite3';
import type { Logger } from 'pino';
import { migrateAgentDb } from '../store/edge-store.js';

/** Bounds of the outbox; defaults in `OUTBOX_DEFAULTS`. */
export interface OutboxLimits {
  /** rows kept at most (pending + delivered); beyond it the oldest go, delivered ones first */
  maxRows: number;
  /** a pending event older than this is dropped (counted as overflow) */
  maxAgeS: number;
  /**
   * how long an event stays after the broker acknowledged it, to be sent again if the broker comes
   * back without our session (restarted without persistence: whatever it still held for an absent
   * subscriber is gone). 0 deletes on PUBACK.
   */
  keepDeliveredS: number;
}

export const OUTBOX_DEFAULTS: OutboxLimits = { maxRows: 100_000, maxAgeS: 7 * 86_400, keepDeliveredS: 86_400 };

export interface OutboxOptions extends OutboxLimits {
  /** the agent's SQLite file (`<dataDir>/agent.sqlite`), or an open handle (tests, shared connections) */
  db: string | Database.Database;
  site: string;
  agent: string;
  logger: Logger;
  /** how long a write waits for a lock before failing over; better-sqlite3 blocks the event loop meanwhile */
  busyTimeoutMs?: number;
  now?: () => number;
}

export interface OutboxEntry {
  /** publish order, increasing, never reused */
  seq: number;
  key: EventTopicKey;
  eventId: string;
  camera: string;
  /** the encoded JSON payload, validated before it was stored */
  payload: string;
  createdMs: number;
}

export type OutboxErrorCode = 'OUTBOX_ERR_FULL' | 'OUTBOX_ERR_BUSY' | 'OUTBOX_ERR_IO' | 'OUTBOX_ERR_CLOSED';
export interface OutboxError {
  code: OutboxErrorCode;
  message: string;
}
export type OutboxResult<T> = { ok: true; value: T } | { ok: false; error: OutboxError };

export interface OutboxStats {
  /** events not yet acknowledged by the broker */
  pending: number;
  /** acknowledged events kept for a replay after a broker restart */
  delivered: number;
  /** pending events dropped by the row or age bound: lost, hence loud */
  overflow: number;
  /** delivered events removed after `keepDeliveredS` or to make room: expected */
  expired: number;
  writeErrors: number;
  readErrors: number;
}

/** Durable queue of QoS 1 events, in publish order. Every method is synchronous (better-sqlite3). */
export interface Outbox {
  /** store an event before it is published; its seq on success */
  enqueue(e: { key: EventTopicKey; eventId: string; camera: string; payload: string }): OutboxResult<number>;
  /** pending events with seq > afterSeq, oldest first */
  pending(afterSeq: number, limit: number): OutboxResult<OutboxEntry[]>;
  /** the broker acknowledged these: no longer pending (deleted, or kept for `keepDeliveredS`) */
  markDelivered(seqs: readonly number[]): OutboxResult<void>;
  /** the broker refused these for good (not authorised, too large): removed */
  remove(seqs: readonly number[]): OutboxResult<void>;
  /** the broker lost its state: every kept delivered event becomes pending again; how many */
  requeueDelivered(): OutboxResult<number>;
  /** apply the age bounds now; the transport calls it periodically */
  prune(): OutboxResult<{ dropped: number; expired: number }>;
  /** pending events (health figure) */
  depth(): number;
  stats(): OutboxStats;
  close(): void;
}

function toError(err: unknown): OutboxError {
  const code = (err as { code?: unknown }).code;
  const message = err instanceof Error ? err.message : String(err);
  if (code === 'SQLITE_FULL') return { code: 'OUTBOX_ERR_FULL', message };
  if (typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')))
    return { code: 'OUTBOX_ERR_BUSY', message };
  if (err instanceof TypeError && /not open/.test(message)) return { code: 'OUTBOX_ERR_CLOSED', message };
  return { code: 'OUTBOX_ERR_IO', message };
}

/** Keeps a loud log loud without one line per event: the first at once, then one summary a minute. */
function throttledError(logger: Logger, msg: string, everyMs = 60_000) {
  let lastAt = -Infinity;
  let suppressed = 0;
  return (now: number, fields: Record<string, unknown>) => {
    if (now - lastAt >= everyMs) {
      logger.error({ ...fields, ...(suppressed ? { suppressed } : {}) }, msg);
      lastAt = now;
      suppressed = 0;
    } else {
      suppressed++;
    }
  };
}

interface Row {
  seq: number;
  topic_key: EventTopicKey;
  event_id: string;
  camera: string;
  payload: string;
  created_ms: number;
}

/**
 * SQLite outbox in the agent database, scoped to one site/agent (a file shared by mistake never
 * publishes another agent's events). Opening it migrates the file; a failure to open throws, and the
 * transport then runs without it.
 */
export function openSqliteOutbox(opts: OutboxOptions): Outbox {
  const { site, agent, logger } = opts;
  const now = opts.now ?? Date.now;
  const ownsDb = typeof opts.db === 'string';
  let db: Database.Database;
  if (typeof opts.db === 'string') {
    mkdirSync(dirname(opts.db), { recursive: true });
    db = new Database(opts.db);
  } else {
    db = opts.db;
  }
  try {
    db.pragma('journal_mode = WAL');
    // an event is on disk before it is published: FULL syncs the WAL at each commit (a power cut
    // loses nothing acknowledged to the caller); a process crash is covered by WAL alone
    db.pragma('synchronous = FULL');
    db.pragma(`busy_timeout = ${Math.max(0, Math.round(opts.busyTimeoutMs ?? 50))}`);
    migrateAgentDb(db);
  } catch (err) {
    if (ownsDb) db.close();
    throw err;
  }

  const insertStmt = db.prepare(
    `INSERT INTO outbox (site, agent, topic_key, event_id, camera, payload, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?)`,
  );
  const pendingStmt = db.prepare<[string, string, number, number], Row>(
    `SELECT seq, topic_key, event_id, camera, payload, created_ms FROM outbox
     WHERE site = ? AND agent = ? AND delivered_ms IS NULL AND seq > ? ORDER BY seq LIMIT ?`,
  );
  const markStmt = db.prepare(`UPDATE outbox SET delivered_ms = ? WHERE seq = ? AND delivered_ms IS NULL`);
  const deleteStmt = db.prepare(`DELETE FROM outbox WHERE seq = ?`);
  const deleteIfPendingStmt = db.prepare(`DELETE FROM outbox WHERE seq = ? AND delivered_ms IS NULL`);
  const dropOldestDeliveredStmt = db.prepare(
    `DELETE FROM outbox WHERE seq IN (SELECT seq FROM outbox WHERE site = ? AND agent = ? AND delivered_ms IS NOT NULL ORDER BY seq LIMIT ?)`,
  );
  const dropOldestPendingStmt = db.prepare(
    `DELETE FROM outbox WHERE seq IN (SELECT seq FROM outbox WHERE site = ? AND agent = ? AND delivered_ms IS NULL ORDER BY seq LIMIT ?)`,
  );
  const expirePendingStmt = db.prepare(
    `DELETE FROM outbox WHERE site = ? AND agent = ? AND delivered_ms IS NULL AND created_ms < ?`,
  );
  const expireDeliveredStmt = db.prepare(
    `DELETE FROM outbox WHERE site = ? AND agent = ? AND delivered_ms IS NOT NULL AND delivered_ms < ?`,
  );
  const requeueStmt = db.prepare(
    `UPDATE outbox SET delivered_ms = NULL WHERE site = ? AND agent = ? AND delivered_ms IS NOT NULL`,
  );
  const countStmt = db.prepare<[string, string], { pending: number; delivered: number }>(
    `SELECT count(*) FILTER (WHERE delivered_ms IS NULL) AS pending, count(*) FILTER (WHERE delivered_ms IS NOT NULL) AS delivered
     FROM outbox WHERE site = ? AND agent = ?`,
  );
  const foreignStmt = db.prepare<[string, string], { n: number }>(
    `SELECT count(*) AS n FROM outbox WHERE site <> ? OR agent <> ?`,
  );

  // counts kept in memory: only this connection writes this site/agent's rows
  const initial = countStmt.get(site, agent)!;
  let pendingRows = initial.pending;
  let deliveredRows = initial.delivered;
  const counters = { overflow: 0, expired: 0, writeErrors: 0, readErrors: 0 };
  let closed = false;
  const logOverflow = throttledError(logger, 'outbox overflow: oldest undelivered events dropped');

  const foreign = foreignStmt.get(site, agent)!.n;
  if (foreign > 0) logger.warn({ rows: foreign }, 'outbox holds events of another site or agent id; they are not sent');
  if (pendingRows > 0 || deliveredRows > 0)
    logger.info({ pending: pendingRows, delivered: deliveredRows }, 'outbox opened with events from a previous run');

  function fail<T>(kind: 'writeErrors' | 'readErrors', err: unknown): OutboxResult<T> {
    const error = toError(err);
    if (error.code !== 'OUTBOX_ERR_CLOSED') counters[kind]++;
    return { ok: false, error };
  }

  function dropOverflow(reason: 'max_rows' | 'max_age', dropped: number, t: number): void {
    if (dropped <= 0) return;
    counters.overflow += dropped;
    logOverflow(t, { reason, dropped, overflow: counters.overflow, maxRows: opts.maxRows, maxAgeS: opts.maxAgeS });
  }

  const enqueueTx = db.transaction(
    (e: { key: EventTopicKey; eventId: string; camera: string; payload: string }, t: number) => {
      let excess = pendingRows + deliveredRows - opts.maxRows + 1;
      let expired = 0;
      let dropped = 0;
      if (excess > 0 && deliveredRows > 0) {
        expired = dropOldestDeliveredStmt.run(site, agent, excess).changes;
        excess -= expired;
      }
      if (excess > 0) dropped = dropOldestPendingStmt.run(site, agent, excess).changes;
      const seq = Number(insertStmt.run(site, agent, e.key, e.eventId, e.camera, e.payload, t).lastInsertRowid);
      return { seq, expired, dropped };
    },
  );

  const markTx = db.transaction((seqs: readonly number[], t: number) => {
    let n = 0;
    for (const s of seqs) n += (opts.keepDeliveredS > 0 ? markStmt.run(t, s) : deleteIfPendingStmt.run(s)).changes;
    return n;
  });
  const removeTx = db.transaction((seqs: readonly number[]) => {
    let n = 0;
    for (const s of seqs) n += deleteStmt.run(s).changes;
    return n;
  });

  function recount(): void {
    const c = countStmt.get(site, agent)!;
    pendingRows = c.pending;
    deliveredRows = c.delivered;
  }

  return {
    enqueue(e) {
      const t = now();
      try {
        const r = enqueueTx.immediate(e, t);
        deliveredRows -= r.expired;
        counters.expired += r.expired;
        pendingRows += 1 - r.dropped;
        dropOverflow('max_rows', r.dropped, t);
        return { ok: true, value: r.seq };
      } catch (err) {
        return fail('writeErrors', err);
      }
    },
    pending(afterSeq, limit) {
      try {
        const rows = pendingStmt.all(site, agent, afterSeq, limit);
        return {
          ok: true,
          value: rows.map((r) => ({
            seq: r.seq,
            key: r.topic_key,
            eventId: r.event_id,
            camera: r.camera,
            payload: r.payload,
            createdMs: r.created_ms,
          })),
        };
      } catch (err) {
        return fail('readErrors', err);
      }
    },
    markDelivered(seqs) {
      if (seqs.length === 0) return { ok: true, value: undefined };
      try {
        const n = markTx.immediate(seqs, now());
        pendingRows -= n;
        if (opts.keepDeliveredS > 0) deliveredRows += n;
        return { ok: true, value: undefined };
      } catch (err) {
        return fail('writeErrors', err);
      }
    },
    remove(seqs) {
      if (seqs.length === 0) return { ok: true, value: undefined };
      try {
        removeTx.immediate(seqs);
        recount();
        return { ok: true, value: undefined };
      } catch (err) {
        return fail('writeErrors', err);
      }
    },
    requeueDelivered() {
      try {
        const n = requeueStmt.run(site, agent).changes;
        pendingRows += n;
        deliveredRows -= n;
        return { ok: true, value: n };
      } catch (err) {
        return fail('writeErrors', err);
      }
    },
    prune() {
      const t = now();
      try {
        const { dropped, expired } = db
          .transaction(() => ({
            dropped: expirePendingStmt.run(site, agent, t - opts.maxAgeS * 1000).changes,
            expired: expireDeliveredStmt.run(site, agent, t - opts.keepDeliveredS * 1000).changes,
          }))
          .immediate();
        pendingRows -= dropped;
        deliveredRows -= expired;
        counters.expired += expired;
        dropOverflow('max_age', dropped, t);
        return { ok: true, value: { dropped, expired } };
      } catch (err) {
        return fail('writeErrors', err);
      }
    },
    depth() {
      return pendingRows;
    },
    stats() {
      return { pending: pendingRows, delivered: deliveredRows, ...counters };
    },
    close() {
      if (closed) return;
      closed = true;
      if (ownsDb) db.close();
    },
  };
}
