import { statSync } from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DB_FILE_NAME, openDatabase } from '../store/database.js';
import { makeTempDir } from '../test-support/fixtures.js';
import { startWalCheckpointer } from './wal-checkpointer.js';

describe('WAL checkpointer', () => {
  let tmp: ReturnType<typeof makeTempDir>;
  beforeEach(() => {
    tmp = makeTempDir();
  });
  afterEach(() => tmp.remove());

  it('turns off automatic checkpoints on the connection and copies the WAL into the file from a worker', async () => {
    const db = openDatabase({ dataDir: tmp.dir });
    db.exec('CREATE TABLE blobs (x BLOB NOT NULL)');
    // whatever the migrations wrote is in the main file now: the growth below is the worker's doing
    db.pragma('wal_checkpoint(TRUNCATE)');
    const file = path.join(tmp.dir, DB_FILE_NAME);
    const before = statSync(file).size;
    const ck = await startWalCheckpointer({ db, logger: pino({ level: 'silent' }), intervalMs: 10 });
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(0);
    const insert = db.prepare('INSERT INTO blobs (x) VALUES (?)');
    const many = db.transaction(() => {
      for (let i = 0; i < 500; i++) insert.run(Buffer.alloc(1024, i));
    });
    many();
    // this connection never checkpoints any more: only the worker can grow the main file
    await vi.waitFor(() => expect(statSync(file).size).toBeGreaterThan(before + 400 * 1024), { timeout: 10_000, interval: 20 });
    await ck.close();
    expect((db.prepare('SELECT count(*) AS n FROM blobs').get() as { n: number }).n).toBe(500);
    db.close();
  });

  it('brings the WAL back under its bound after a burst of commits', async () => {
    const db = openDatabase({ dataDir: tmp.dir });
    db.exec('CREATE TABLE blobs (x BLOB NOT NULL)');
    const ck = await startWalCheckpointer({ db, logger: pino({ level: 'silent' }), intervalMs: 5, maxWalPages: 64 });
    const insert = db.prepare('INSERT INTO blobs (x) VALUES (?)');
    const commit = db.transaction((n: number) => {
      for (let i = 0; i < n; i++) insert.run(Buffer.alloc(1024, i));
    });
    const wal = path.join(tmp.dir, `${DB_FILE_NAME}-wal`);
    // 4 MiB written through the WAL, far past its 64-page (256 KiB) bound
    for (let i = 0; i < 200; i++) {
      commit(20);
      await new Promise((r) => setImmediate(r));
    }
    // the worker restarts the WAL; the next commit then starts it over, truncated to the bound
    await vi.waitFor(
      () => {
        commit(1);
        expect(statSync(wal).size).toBeLessThanOrEqual(64 * 4096 + 64 * 1024);
      },
      { timeout: 10_000, interval: 20 },
    );
    await ck.close();
    expect((db.prepare('SELECT count(*) AS n FROM blobs').get() as { n: number }).n).toBeGreaterThanOrEqual(4000);
    db.close();
  });

  it('does nothing for an in-memory database', async () => {
    const { default: BetterSqlite3 } = await import('better-sqlite3');
    const db = new BetterSqlite3(':memory:');
    const ck = await startWalCheckpointer({ db, logger: pino({ level: 'silent' }) });
    await ck.close();
    db.close();
  });
});
