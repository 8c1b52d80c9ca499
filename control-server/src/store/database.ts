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
  /**
   * SQLite page cache of this connection, in KiB (default 65 536: 64 MiB; SQLite's own default is
   * 2 MiB). Every event goes into the primary key and four secondary indexes; the two per-site
   * indexes (site, kind, ts / received_at) append at one leaf per site and kind, so a batch touches
   * a leaf (and its parents) per site and kind in each. With 20 sites those pages fit in 2 MiB; with
   * 200 (a regional server) they do not, and SQLite read ~8.4 KB (two pages) back from the file per
   * ingested event, none with 64 MiB: system CPU −4 to −5 µs per event, −1.5 to −3 µs in all
   * (scripts/bench-event-store.ts `--sites 200 --cache-kib 2000`, 150 000 events, 2-core VM at load
   * 3–5). The memory is only taken as pages are used. mmap_size (256 MiB) changed nothing in the same
   * bench, and temp_store only concerns temporary tables and sorts, which inserts do not make.
   */
  cacheSizeKiB?: number;
  migrations?: readonly Migration[];
}

export const DEFAULT_CACHE_SIZE_KIB = 65_536;

/** Open (or create) the server database: WAL, busy timeout, foreign keys, page cache, migrations applied. */
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
    // negative: a size in KiB rather than in pages, whatever the page size
    db.pragma(`cache_size = -${Math.max(0, Math.trunc(opts.cacheSizeKiB ?? DEFAULT_CACHE_SIZE_KIB))}`);
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
