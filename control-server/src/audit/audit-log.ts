import { createHash } from 'node:crypto';
import type { Database } from 'better-sqlite3';

/**
 * Append-only, hash-chained audit log: every read of personal data and every administrative action.
 *
 * Row n stores `hash_n = sha256_hex(hash_{n-1} || canonical(row_n))` with `hash_0` = 64 zeros, where
 * `||` is the concatenation of the previous hash (64 hex characters) and the canonical row text
 * (UTF-8), and the canonical row is the JSON array
 * `[seq, ts, actor, role, site, action, target, outcome, ip, details]` with `details` serialised with
 * sorted keys. Changing, deleting or reordering a row breaks every hash after it. A writer with the
 * database file could recompute the whole chain: the chain is then only as good as the last head
 * (seq + hash) kept elsewhere, which `verify --expect-head` checks (see docs/security.md).
 */

export const GENESIS_HASH = '0'.repeat(64);

export type AuditOutcome = 'ok' | 'denied' | 'failed';

export interface AuditEntry {
  /** username, or `system`, `cli:<os user>`, `anonymous` */
  actor: string;
  /** roles the actor held for this action, comma-separated */
  role?: string | null;
  /** the site concerned; `*` for all sites */
  site?: string | null;
  /** dotted verb, e.g. `auth.login`, `events.read`, `user.create` */
  action: string;
  /** ids of what was read or changed; never a name */
  target?: string | null;
  outcome: AuditOutcome;
  ip?: string | null;
  details?: Record<string, unknown>;
}

export interface AuditRow {
  seq: number;
  ts: string;
  actor: string;
  role: string | null;
  site: string | null;
  action: string;
  target: string | null;
  outcome: AuditOutcome;
  ip: string | null;
  details: Record<string, unknown>;
  prevHash: string;
  hash: string;
}

export interface AuditHead {
  seq: number;
  hash: string;
}

export type VerifyResult =
  { ok: true; rows: number; head: AuditHead } | { ok: false; rows: number; seq: number; reason: string };

/**
 * A page of the log for the read API, newest first. Every criterion is bound as a parameter; `sites`
 * is the reader's scope (`*`: every row, including the server-wide ones whose site is `*` or null).
 */
export interface AuditQuery {
  sites: '*' | readonly string[];
  /** one site (inside `sites`) */
  site?: string;
  /** ISO times, `from` inclusive, `to` exclusive */
  from?: string;
  to?: string;
  /** exact username (or `system`, `cli:…`) */
  actor?: string;
  /** exact action, or a dotted prefix: `auth` matches `auth.login` and `auth.logout` */
  action?: string;
  /** rows strictly older than this sequence number (the previous page's cursor) */
  beforeSeq?: number;
  limit: number;
}

export interface AuditLog {
  append(entry: AuditEntry): AuditRow;
  head(): AuditHead;
  /** rows in chain order; `site` keeps the rows of that site (and the `*` ones) */
  iterate(filter?: { site?: string; afterSeq?: number }): IterableIterator<AuditRow>;
  count(): number;
  /** rows matching `q`, newest first, at most `q.limit` */
  query(q: AuditQuery): AuditRow[];
  /** rows matching `q` in chain order, for an export; read in pages, so it may be consumed slowly */
  iterateQuery(q: Omit<AuditQuery, 'limit' | 'beforeSeq'>): IterableIterator<AuditRow>;
  /** the whole chain checked from its start (origin, or the latest retention checkpoint) */
  verify(expectHead?: AuditHead): VerifyResult & { start: AuditHead };
}

/** SQL text and parameters of an AuditQuery: fixed fragments, every value bound. */
function queryClauses(q: Omit<AuditQuery, 'limit'>): { where: string; params: unknown[] } {
  const where: string[] = [];
  const params: unknown[] = [];
  if (q.sites !== '*') {
    if (q.sites.length === 0) where.push('0');
    else {
      where.push(`site IN (${q.sites.map(() => '?').join(',')})`);
      params.push(...q.sites);
    }
  }
  if (q.site !== undefined) {
    where.push('site = ?');
    params.push(q.site);
  }
  if (q.from !== undefined) {
    where.push('ts >= ?');
    params.push(q.from);
  }
  if (q.to !== undefined) {
    where.push('ts < ?');
    params.push(q.to);
  }
  if (q.actor !== undefined) {
    where.push('actor = ?');
    params.push(q.actor);
  }
  if (q.action !== undefined) {
    // a case-sensitive literal prefix: no LIKE, so `%` and `_` in the filter are plain characters
    where.push('(action = ? OR substr(action, 1, length(?)) = ?)');
    params.push(q.action, `${q.action}.`, `${q.action}.`);
  }
  if (q.beforeSeq !== undefined) {
    where.push('seq < ?');
    params.push(q.beforeSeq);
  }
  return { where: where.length > 0 ? `WHERE ${where.join(' AND ')}` : '', params };
}

/** JSON with object keys sorted at every level: one text per value, whatever the insertion order. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    const text = JSON.stringify(value);
    // undefined, functions and symbols have no JSON form; store them as null like arrays do
    return text === undefined ? 'null' : text;
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
}

type HashedFields = Omit<AuditRow, 'prevHash' | 'hash'>;

export function canonicalRow(r: HashedFields): string {
  return JSON.stringify([
    r.seq,
    r.ts,
    r.actor,
    r.role,
    r.site,
    r.action,
    r.target,
    r.outcome,
    r.ip,
    canonicalJson(r.details),
  ]);
}

export function chainHash(prevHash: string, r: HashedFields): string {
  return createHash('sha256').update(prevHash, 'utf8').update(canonicalRow(r), 'utf8').digest('hex');
}

/** Where a chain starts: before row 1 (the genesis hash), or after the last row removed by retention. */
export const CHAIN_ORIGIN: AuditHead = Object.freeze({ seq: 0, hash: GENESIS_HASH });

/**
 * Check a whole chain in order: contiguous seq from `start.seq + 1` (1 unless retention removed the
 * oldest rows: see `auditChainStart`), each prev_hash equal to the previous hash, each hash
 * recomputed. `expectHead` also catches a truncated tail, which a chain alone cannot.
 */
export function verifyAuditRows(
  rows: Iterable<AuditRow>,
  expectHead?: AuditHead,
  start: AuditHead = CHAIN_ORIGIN,
): VerifyResult {
  let prev = start.hash;
  let expectedSeq = start.seq + 1;
  let count = 0;
  let headSeen = expectHead === undefined;
  for (const r of rows) {
    count += 1;
    if (r.seq !== expectedSeq) {
      return {
        ok: false,
        rows: count,
        seq: r.seq,
        reason: r.seq > expectedSeq ? `row ${expectedSeq} is missing` : `row ${r.seq} is out of order`,
      };
    }
    if (r.prevHash !== prev)
      return { ok: false, rows: count, seq: r.seq, reason: 'prev_hash does not match the previous row' };
    const h = chainHash(prev, r);
    if (h !== r.hash) return { ok: false, rows: count, seq: r.seq, reason: 'hash does not match the row content' };
    if (expectHead && r.seq === expectHead.seq) {
      if (r.hash !== expectHead.hash)
        return { ok: false, rows: count, seq: r.seq, reason: 'hash differs from the expected head' };
      headSeen = true;
    }
    prev = h;
    expectedSeq += 1;
  }
  if (!headSeen) {
    return {
      ok: false,
      rows: count,
      seq: expectedSeq,
      reason: `the log ends at row ${expectedSeq - 1}, before the expected head ${expectHead!.seq}: rows were removed`,
    };
  }
  return { ok: true, rows: count, head: { seq: expectedSeq - 1, hash: prev } };
}

interface Row {
  seq: number;
  ts: string;
  actor: string;
  role: string | null;
  site: string | null;
  action: string;
  target: string | null;
  outcome: AuditOutcome;
  ip: string | null;
  details: string;
  prev_hash: string;
  hash: string;
}

function toRow(r: Row): AuditRow {
  return {
    seq: r.seq,
    ts: r.ts,
    actor: r.actor,
    role: r.role,
    site: r.site,
    action: r.action,
    target: r.target,
    outcome: r.outcome,
    ip: r.ip,
    details: JSON.parse(r.details) as Record<string, unknown>,
    prevHash: r.prev_hash,
    hash: r.hash,
  };
}

/** Bounds on client-influenced text, so one request cannot write a megabyte into the log. */
const clip = (s: string | null | undefined, max: number): string | null =>
  s === null || s === undefined ? null : s.length > max ? `${s.slice(0, max)}…` : s;

export function createAuditLog(db: Database, opts: { now?: () => number } = {}): AuditLog {
  const now = opts.now ?? Date.now;
  const last = db.prepare<[], { seq: number; hash: string }>(
    'SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1',
  );
  const insert = db.prepare(
    `INSERT INTO audit_log (seq, ts, actor, role, site, action, target, outcome, ip, details, prev_hash, hash)
     VALUES (@seq, @ts, @actor, @role, @site, @action, @target, @outcome, @ip, @details, @prevHash, @hash)`,
  );
  const countStmt = db.prepare<[], { n: number }>('SELECT count(*) AS n FROM audit_log');
  const iterAll = db.prepare<[number], Row>('SELECT * FROM audit_log WHERE seq > ? ORDER BY seq');
  // a site's rows and the ones about every site
  const iterSite = db.prepare<[number, string], Row>(
    "SELECT * FROM audit_log WHERE seq > ? AND (site = ? OR site = '*') ORDER BY seq",
  );
  const appendTx = db.transaction((entry: AuditEntry): AuditRow => {
    const tail = last.get();
    const fields: HashedFields = {
      seq: (tail?.seq ?? 0) + 1,
      ts: new Date(now()).toISOString(),
      actor: clip(entry.actor, 128) ?? 'unknown',
      role: clip(entry.role, 128),
      site: clip(entry.site, 64),
      action: entry.action,
      target: clip(entry.target, 512),
      outcome: entry.outcome,
      ip: clip(entry.ip, 64),
      // round-trip so what is hashed is exactly what a reader parses back
      details: JSON.parse(canonicalJson(entry.details ?? {})) as Record<string, unknown>,
    };
    const prevHash = tail?.hash ?? GENESIS_HASH;
    const row: AuditRow = { ...fields, prevHash, hash: chainHash(prevHash, fields) };
    insert.run({ ...row, details: canonicalJson(row.details) });
    return row;
  });

  return {
    append(entry) {
      // IMMEDIATE takes the write lock before reading the tail: the CLI and the server may append at once
      return appendTx.immediate(entry);
    },
    head() {
      const tail = last.get();
      return tail ? { seq: tail.seq, hash: tail.hash } : { seq: 0, hash: GENESIS_HASH };
    },
    *iterate(filter = {}) {
      const afterSeq = filter.afterSeq ?? 0;
      const rows = filter.site === undefined ? iterAll.iterate(afterSeq) : iterSite.iterate(afterSeq, filter.site);
      for (const r of rows) yield toRow(r);
    },
    count() {
      return countStmt.get()!.n;
    },
    query(q) {
      const { where, params } = queryClauses(q);
      const limit = Math.max(1, Math.min(1000, Math.floor(q.limit)));
      const rows = db.prepare<unknown[], Row>(`SELECT * FROM audit_log ${where} ORDER BY seq DESC LIMIT ${limit}`);
      return rows.all(...params).map(toRow);
    },
    *iterateQuery(q) {
      // pages of 500 read with .all(): an open SQLite iterator would make the connection busy for
      // every other statement (appends of other requests) while a slow client downloads
      const { where, params } = queryClauses(q);
      const page = db.prepare<unknown[], Row>(
        `SELECT * FROM audit_log ${where ? `${where} AND` : 'WHERE'} seq > ? ORDER BY seq LIMIT 500`,
      );
      let after = 0;
      for (;;) {
        const rows = page.all(...params, after);
        for (const r of rows) yield toRow(r);
        if (rows.length < 500) return;
        after = rows.at(-1)!.seq;
      }
    },
    verify(expectHead) {
      const start = auditChainStart(db);
      const rows = iterAll.iterate(start.seq);
      const mapped = (function* () {
        for (const r of rows) yield toRow(r);
      })();
      return { ...verifyAuditRows(mapped, expectHead, start), start };
    },
  };
}

/**
 * The start of the chain kept in `db`: the latest retention checkpoint (rows up to it were removed
 * by the privacy purge, which records it before deleting), else the origin. Works on a read-only
 * handle and on a database from before checkpoints existed.
 */
export function auditChainStart(db: Database): AuditHead {
  const table = db
    .prepare<[], { n: number }>(
      "SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'audit_log_checkpoints'",
    )
    .get()!;
  if (table.n === 0) return CHAIN_ORIGIN;
  const r = db
    .prepare<[], { seq: number; hash: string }>(
      'SELECT upto_seq AS seq, upto_hash AS hash FROM audit_log_checkpoints ORDER BY upto_seq DESC LIMIT 1',
    )
    .get();
  return r ? { seq: r.seq, hash: r.hash } : CHAIN_ORIGIN;
}

/** One JSON object per line, in chain order; `verifyAuditRows` accepts the parsed lines back. */
export function auditRowToJsonLine(r: AuditRow): string {
  return JSON.stringify(r);
}

export function parseAuditJsonLine(line: string): AuditRow {
  return JSON.parse(line) as AuditRow;
}
