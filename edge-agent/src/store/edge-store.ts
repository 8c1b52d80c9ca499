import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { templateSetDigest, templateToWire, type EncryptedTemplate } from '@portail/protocol';

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
  /** the server's sync snapshot last applied (version, site code, keys), if any */
  heldSync(): HeldSync | undefined;
  /**
   * Make the store hold a server snapshot, in one transaction: templates not in it are deleted,
   * new or changed ones written, its revocations added (deleting their ciphertexts). Refused when
   * older than the version held. Revocations are only ever added: a credential the agent once
   * learnt was revoked stays refused here, whatever a later snapshot says.
   */
  applySync(s: SyncSnapshot): SyncApplyResult;
  /** `templateSetDigest` of the templates held */
  templatesDigest(): string;
  close(): void;
}

export interface SyncPublicKey {
  keyId: number;
  pem: string;
}

/** A complete, verified server snapshot for this agent's site. */
export interface SyncSnapshot {
  version: number;
  siteCode: number;
  publicKeys: readonly SyncPublicKey[];
  revocations: readonly string[];
  templates: readonly EncryptedTemplate[];
}

export interface HeldSync {
  version: number;
  siteCode: number;
  publicKeys: SyncPublicKey[];
  templatesDigest: string;
  appliedAt: string;
}

export interface SyncApplyReport {
  version: number;
  templatesWritten: number;
  templatesDeleted: number;
  /** templates of the snapshot not stored because this agent holds their credential as revoked */
  templatesRefused: number;
  revocationsAdded: number;
  templateCount: number;
  revocationCount: number;
}

export type SyncApplyResult =
  | { ok: true; value: SyncApplyReport }
  | { ok: false; error: { code: 'SYNC_ERR_OLDER' | 'SYNC_ERR_DIGEST'; message: string; heldVersion: number | null } };

/** Thrown inside the apply transaction to roll it back; reported as a value. */
class SyncRefused extends Error {
  constructor(
    readonly code: 'SYNC_ERR_OLDER' | 'SYNC_ERR_DIGEST',
    message: string,
  ) {
    super(message);
  }
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
  // the server's sync snapshot in force (sync/edge-sync.ts): its version, and the site code and
  // public keys the gate checks tokens with; one row
  `CREATE TABLE sync_state (
     id INTEGER PRIMARY KEY CHECK (id = 1),
     version INTEGER NOT NULL,
     site_code INTEGER NOT NULL,
     public_keys TEXT NOT NULL,
     templates_digest TEXT NOT NULL,
     applied_at TEXT NOT NULL
   ) STRICT;`,
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

interface TemplateRow {
  model_id: string;
  model_sha256: string;
  encoding: 'f32' | 'i8';
  iv: Buffer;
  ciphertext: Buffer;
  tag: Buffer;
}

const sameBytes = (a: Uint8Array, b: Uint8Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);

function sameTemplate(a: EncryptedTemplate, b: EncryptedTemplate): boolean {
  return (
    a.modelId === b.modelId &&
    a.modelSha256 === b.modelSha256 &&
    a.encoding === b.encoding &&
    sameBytes(a.iv, b.iv) &&
    sameBytes(a.ciphertext, b.ciphertext) &&
    sameBytes(a.tag, b.tag)
  );
}

export function openEdgeStore(path: string): EdgeStore {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 5000');
  migrateAgentDb(db);

  const get = db.prepare<[string], TemplateRow>(
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
  const countRevoked = db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM revocations');
  const allTemplates = db.prepare<[], TemplateRow & { credential_id: string }>(
    'SELECT credential_id, model_id, model_sha256, encoding, iv, ciphertext, tag FROM templates',
  );
  const listTemplateIds = db.prepare<[], { credential_id: string }>('SELECT credential_id FROM templates');
  const getSync = db.prepare<[], { version: number; site_code: number; public_keys: string; templates_digest: string; applied_at: string }>(
    'SELECT version, site_code, public_keys, templates_digest, applied_at FROM sync_state WHERE id = 1',
  );
  const putSync = db.prepare(
    `INSERT INTO sync_state (id, version, site_code, public_keys, templates_digest, applied_at)
     VALUES (1, @version, @siteCode, @publicKeys, @templatesDigest, @at)
     ON CONFLICT(id) DO UPDATE SET version = excluded.version, site_code = excluded.site_code,
       public_keys = excluded.public_keys, templates_digest = excluded.templates_digest, applied_at = excluded.applied_at`,
  );
  let revokedCache: Set<string> | undefined;

  const toTemplate = (credentialId: string, r: TemplateRow): EncryptedTemplate => ({
    credentialId,
    modelId: r.model_id,
    modelSha256: r.model_sha256,
    encoding: r.encoding,
    iv: new Uint8Array(r.iv),
    ciphertext: new Uint8Array(r.ciphertext),
    tag: new Uint8Array(r.tag),
  });
  const storedDigest = () => templateSetDigest(allTemplates.all().map((r) => templateToWire(toTemplate(r.credential_id, r))));
  const heldSync = (): HeldSync | undefined => {
    const r = getSync.get();
    if (!r) return undefined;
    return {
      version: r.version,
      siteCode: r.site_code,
      publicKeys: JSON.parse(r.public_keys) as SyncPublicKey[],
      templatesDigest: r.templates_digest,
      appliedAt: r.applied_at,
    };
  };
  const putRow = (t: EncryptedTemplate, now: string) =>
    put.run({ ...t, iv: Buffer.from(t.iv), ciphertext: Buffer.from(t.ciphertext), tag: Buffer.from(t.tag), now });

  const applySyncTx = db.transaction((s: SyncSnapshot): SyncApplyReport => {
    const held = heldSync();
    if (held && s.version < held.version) {
      throw new SyncRefused('SYNC_ERR_OLDER', `version ${s.version} is older than the version held (${held.version})`);
    }
    const now = new Date().toISOString();
    const revoked = new Set(listRevoked.all().map((r) => r.credential_id));
    let revocationsAdded = 0;
    for (const id of s.revocations) {
      if (revoked.has(id)) continue;
      addRevoked.run(id, now);
      revoked.add(id);
      revocationsAdded++;
    }
    const wanted = new Map<string, EncryptedTemplate>();
    let templatesRefused = 0;
    for (const t of s.templates) {
      if (revoked.has(t.credentialId)) templatesRefused++;
      else wanted.set(t.credentialId, t);
    }
    let templatesDeleted = 0;
    for (const { credential_id: id } of listTemplateIds.all()) {
      if (!wanted.has(id)) templatesDeleted += del.run(id).changes;
    }
    let templatesWritten = 0;
    for (const t of wanted.values()) {
      const r = get.get(t.credentialId);
      if (r && sameTemplate(toTemplate(t.credentialId, r), t)) continue;
      putRow(t, now);
      templatesWritten++;
    }
    // the store must now hold exactly the snapshot's templates, less the refused ones
    const digest = storedDigest();
    if (digest !== templateSetDigest([...wanted.values()].map(templateToWire))) {
      throw new SyncRefused('SYNC_ERR_DIGEST', 'the templates stored do not match the snapshot applied');
    }
    putSync.run({
      version: s.version,
      siteCode: s.siteCode,
      publicKeys: JSON.stringify(s.publicKeys.map((k) => ({ keyId: k.keyId, pem: k.pem }))),
      templatesDigest: digest,
      at: now,
    });
    return {
      version: s.version,
      templatesWritten,
      templatesDeleted,
      templatesRefused,
      revocationsAdded,
      templateCount: count.get()!.n,
      revocationCount: countRevoked.get()!.n,
    };
  });

  return {
    getTemplate(credentialId) {
      const r = get.get(credentialId);
      return r ? toTemplate(credentialId, r) : undefined;
    },
    putTemplate(t) {
      putRow(t, new Date().toISOString());
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
    heldSync,
    applySync(s) {
      try {
        // IMMEDIATE: the outbox writes through its own connection; take the write lock up front
        return { ok: true, value: applySyncTx.immediate(s) };
      } catch (err) {
        if (err instanceof SyncRefused) {
          return { ok: false, error: { code: err.code, message: err.message, heldVersion: heldSync()?.version ?? null } };
        }
        throw err;
      } finally {
        revokedCache = undefined;
      }
    },
    templatesDigest: storedDigest,
    close() {
      db.close();
    },
  };
}
