import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { EncryptedTemplate } from '@portail/protocol';

/**
 * The agent's local SQLite: encrypted templates (ciphertexts only, keyed by credential id) and the
 * revocation list. Nothing in it is readable without a student's credential.
 */
export interface EdgeStore {
  getTemplate(credentialId: string): EncryptedTemplate | undefined;
  putTemplate(t: EncryptedTemplate): void;
  deleteTemplate(credentialId: string): boolean;
  templateCount(): number;
  revoked(): ReadonlySet<string>;
  revoke(credentialIds: readonly string[]): void;
  close(): void;
}

const MIGRATIONS: string[] = [
  `CREATE TABLE templates (
     credential_id TEXT PRIMARY KEY,
     model_id TEXT NOT NULL,
     model_sha256 TEXT NOT NULL,
     encoding TEXT NOT NULL CHECK (encoding IN ('f32', 'i8')),
     iv BLOB NOT NULL,
     ciphertext BLOB NOT NULL,
     tag BLOB NOT NULL,
     updated_at TEXT NOT NULL
   ) STRICT;
   CREATE TABLE revocations (credential_id TEXT PRIMARY KEY, revoked_at TEXT NOT NULL) STRICT;`,
  // the transport's outbox (transport/outbox.ts): QoS 1 events written before they are published.
  // AUTOINCREMENT so a seq is never reused after the oldest rows are deleted: seq is the publish order.
  // delivered_ms is NULL until the broker acknowledges the event; acknowledged rows may be kept a while
  // to be sent again if the broker comes back without our session (it may have lost them).
  `CREATE TABLE outbox (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     site TEXT NOT NULL,
     agent TEXT NOT NULL,
     topic_key TEXT NOT NULL CHECK (topic_key IN ('access', 'movement', 'camera')),
     event_id TEXT NOT NULL,
     camera TEXT NOT NULL,
     payload TEXT NOT NULL,
     created_ms INTEGER NOT NULL,
     delivered_ms INTEGER
   ) STRICT;
   CREATE INDEX outbox_pending ON outbox (site, agent, seq) WHERE delivered_ms IS NULL;
   CREATE INDEX outbox_delivered ON outbox (site, agent, seq) WHERE delivered_ms IS NOT NULL;`,
];

/** Name of the agent's SQLite file inside its `dataDir`. */
export const AGENT_DB_FILE = 'agent.sqlite';

/**
 * Bring an open agent database to the current schema. Every connection to the file calls it (the
 * edge store and the outbox open their own), so whichever opens first migrates, in one transaction.
 */
export function migrateAgentDb(db: Database.Database): void {
  db.transaction(() => {
    const version = db.pragma('user_version', { simple: true }) as number;
    for (let v = version; v < MIGRATIONS.length; v++) db.exec(MIGRATIONS[v]!);
    if (version < MIGRATIONS.length) db.pragma(`user_version = ${MIGRATIONS.length}`);
  }).immediate();
}

export function openEdgeStore(path: string): EdgeStore {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 5000');
  migrateAgentDb(db);

  const get = db.prepare<[string], { model_id: string; model_sha256: string; encoding: 'f32' | 'i8'; iv: Buffer; ciphertext: Buffer; tag: Buffer }>(
    'SELECT model_id, model_sha256, encoding, iv, ciphertext, tag FROM templates WHERE credential_id = ?',
  );
  const put = db.prepare(
    `INSERT INTO templates (credential_id, model_id, model_sha256, encoding, iv, ciphertext, tag, updated_at)
     VALUES (@credentialId, @modelId, @modelSha256, @encoding, @iv, @ciphertext, @tag, @now)
     ON CONFLICT(credential_id) DO UPDATE SET model_id = excluded.model_id, model_sha256 = excluded.model_sha256,
       encoding = excluded.encoding, iv = excluded.iv, ciphertext = excluded.ciphertext, tag = excluded.tag, updated_at = excluded.updated_at`,
  );
  const del = db.prepare('DELETE FROM templates WHERE credential_id = ?');
  const count = db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM templates');
  const listRevoked = db.prepare<[], { credential_id: string }>('SELECT credential_id FROM revocations');
  const addRevoked = db.prepare('INSERT OR IGNORE INTO revocations (credential_id, revoked_at) VALUES (?, ?)');
  let revokedCache: Set<string> | undefined;

  return {
    getTemplate(credentialId) {
      const r = get.get(credentialId);
      if (!r) return undefined;
      return {
        credentialId,
        modelId: r.model_id,
        modelSha256: r.model_sha256,
        encoding: r.encoding,
        iv: new Uint8Array(r.iv),
        ciphertext: new Uint8Array(r.ciphertext),
        tag: new Uint8Array(r.tag),
      };
    },
    putTemplate(t) {
      put.run({ ...t, iv: Buffer.from(t.iv), ciphertext: Buffer.from(t.ciphertext), tag: Buffer.from(t.tag), now: new Date().toISOString() });
    },
    deleteTemplate(credentialId) {
      return del.run(credentialId).changes > 0;
    },
    templateCount() {
      return count.get()!.n;
    },
    revoked() {
      revokedCache ??= new Set(listRevoked.all().map((r) => r.credential_id));
      return revokedCache;
    },
    revoke(ids) {
      const now = new Date().toISOString();
      // crypto-erasure: the ciphertext goes with the revocation, in one transaction
      db.transaction(() => {
        for (const id of ids) {
          addRevoked.run(id, now);
          del.run(id);
        }
      })();
      revokedCache = undefined;
    },
    close() {
      db.close();
    },
  };
}
