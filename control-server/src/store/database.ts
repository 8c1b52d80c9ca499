import { mkdirSync } from 'node:fs';
import path from 'node:path';
import BetterSqlite3, { type Database } from 'better-sqlite3';
import { ControlServerError } from '../infra/errors.js';
import { MIGRATIONS, type Migration } from './migrations.js';

export const DB_FILE_NAME = 'portail.sqlite';

export interface OpenDatabaseOptions {
  /** directory holding portail.sqlite (created if missing) */
  dataDir: string;
  busyTimeoutMs?: number;
  migrations?: readonly Migration[];
}

/** Open (or create) the server database: WAL, busy timeout, foreign keys, migrations applied. */
export function openDatabase(opts: OpenDatabaseOptions): Database {
  mkdirSync(opts.dataDir, { recursive: true });
  const file = path.join(opts.dataDir, DB_FILE_NAME);
  const db = new BetterSqlite3(file);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma(`busy_timeout = ${Math.max(0, Math.trunc(opts.busyTimeoutMs ?? 5_000))}`);
    // WAL + NORMAL is durable across process crashes; only a power loss may drop the last commits
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    migrate(db, opts.migrations ?? MIGRATIONS);
  } catch (err) {
    db.close();
    throw err;
  }
  return db;
}

export function currentSchemaVersion(db: Database): number {
  const row = db.prepare('SELECT max(version) AS v FROM schema_migrations').get() as { v: number | null };
  return row.v ?? 0;
}

/**
 * Apply, in version order and each in its own transaction, every known migration not yet recorded.
 * Versions may have gaps (work streams own ranges: 1–9, 10–19, 20–29, …), and a lower version merged
 * after a higher one was applied still runs: the runner compares sets, not only the maximum.
 */
export function migrate(db: Database, migrations: readonly Migration[]): number[] {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at TEXT NOT NULL
  ) STRICT`);
  for (let i = 1; i < migrations.length; i++) {
    if (migrations[i]!.version <= migrations[i - 1]!.version) {
      throw new ControlServerError('SERVER_ERR_MIGRATIONS_ORDER', 'migrations must have strictly increasing versions');
    }
  }
  const current = currentSchemaVersion(db);
  const latestKnown = migrations.at(-1)?.version ?? 0;
  if (current > latestKnown) {
    throw new ControlServerError(
      'SERVER_ERR_DB_TOO_NEW',
      `database schema version ${current} is newer than this server knows (${latestKnown}): refusing to run`,
    );
  }
  const done = new Set(
    (db.prepare('SELECT version FROM schema_migrations').all() as Array<{ version: number }>).map((r) => r.version),
  );
  const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
  const applied: number[] = [];
  for (const m of migrations) {
    if (done.has(m.version)) continue;
    db.transaction(() => {
      m.up(db);
      record.run(m.version, m.name, new Date().toISOString());
    })();
    applied.push(m.version);
  }
  return applied;
}
