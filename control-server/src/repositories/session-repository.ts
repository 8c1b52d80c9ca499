import { createHash, randomBytes } from 'node:crypto';
import type { Database } from 'better-sqlite3';

export interface SessionRecord {
  /** sha256 of the cookie value, hex: the only form of the id the server keeps */
  idHash: string;
  userId: number;
  csrfToken: string;
  createdAt: string;
  lastSeenAt: string;
  expiresAt: string;
  ip: string | null;
  userAgent: string | null;
}

export interface SessionRepository {
  /** A new session with a fresh random id (256 bits) and CSRF token; `id` goes in the cookie only. */
  create(
    input: { userId: number; ip: string | null; userAgent: string | null; absoluteTtlMs: number },
    nowMs: number,
  ): { id: string; session: SessionRecord };
  get(idHash: string): SessionRecord | null;
  touch(idHash: string, nowIso: string): void;
  delete(idHash: string): boolean;
  deleteForUser(userId: number): number;
  /** sessions past their absolute expiry or idle longer than `idleTtlMs` */
  purgeExpired(nowMs: number, idleTtlMs: number): number;
}

export function hashSessionId(id: string): string {
  return createHash('sha256').update(id, 'utf8').digest('hex');
}

export function newRandomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

interface SessionRow {
  id_hash: string;
  user_id: number;
  csrf_token: string;
  created_at: string;
  last_seen_at: string;
  expires_at: string;
  ip: string | null;
  user_agent: string | null;
}

const toSession = (r: SessionRow): SessionRecord => ({
  idHash: r.id_hash,
  userId: r.user_id,
  csrfToken: r.csrf_token,
  createdAt: r.created_at,
  lastSeenAt: r.last_seen_at,
  expiresAt: r.expires_at,
  ip: r.ip,
  userAgent: r.user_agent,
});

export function createSessionRepository(db: Database): SessionRepository {
  const insert = db.prepare<[string, number, string, string, string, string, string | null, string | null]>(
    `INSERT INTO sessions (id_hash, user_id, csrf_token, created_at, last_seen_at, expires_at, ip, user_agent)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const byHash = db.prepare<[string], SessionRow>('SELECT * FROM sessions WHERE id_hash = ?');
  const touchStmt = db.prepare<[string, string]>('UPDATE sessions SET last_seen_at = ? WHERE id_hash = ?');
  const del = db.prepare<[string]>('DELETE FROM sessions WHERE id_hash = ?');
  const delUser = db.prepare<[number]>('DELETE FROM sessions WHERE user_id = ?');
  const purge = db.prepare<[string, string]>('DELETE FROM sessions WHERE expires_at <= ? OR last_seen_at <= ?');

  return {
    create({ userId, ip, userAgent, absoluteTtlMs }, nowMs) {
      const id = newRandomToken(32);
      const now = new Date(nowMs).toISOString();
      const row: SessionRow = {
        id_hash: hashSessionId(id),
        user_id: userId,
        csrf_token: newRandomToken(32),
        created_at: now,
        last_seen_at: now,
        expires_at: new Date(nowMs + absoluteTtlMs).toISOString(),
        ip,
        // bounded: the header is client-controlled
        user_agent: userAgent === null ? null : userAgent.slice(0, 256),
      };
      insert.run(
        row.id_hash,
        row.user_id,
        row.csrf_token,
        row.created_at,
        row.last_seen_at,
        row.expires_at,
        row.ip,
        row.user_agent,
      );
      return { id, session: toSession(row) };
    },
    get(idHash) {
      const row = byHash.get(idHash);
      return row ? toSession(row) : null;
    },
    touch(idHash, nowIso) {
      touchStmt.run(nowIso, idHash);
    },
    delete(idHash) {
      return del.run(idHash).changes > 0;
    },
    deleteForUser(userId) {
      return delUser.run(userId).changes;
    },
    purgeExpired(nowMs, idleTtlMs) {
      return purge.run(new Date(nowMs).toISOString(), new Date(nowMs - idleTtlMs).toISOString()).changes;
    },
  };
}
