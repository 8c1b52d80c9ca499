import BetterSqlite3 from 'better-sqlite3';
import path from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DB_FILE_NAME, openDatabase } from '../store/database.js';
import { makeTempDir } from '../test-support/fixtures.js';
import { startEventWriter } from './event-writer.js';

const silent = pino({ level: 'silent' });

/** The flat row the ingest hands the writer for one movement event. */
function row(id: string, site = 'lycee-a', agent = 'hall-1'): string[] {
  const ts = '2026-11-22T07:55:00.000Z';
  const payload = JSON.stringify({ id, v: 1, site, agent, camera: 'hall', ts, kind: 'line_crossing', rule: 'entry' });
  return [id, 'movement', site, agent, 'hall', ts, '2026-11-22T07:55:00.010Z', payload];
}

const id = (n: number): string => `0193a0c0-0000-7000-8000-${n.toString(16).padStart(12, '0')}`;

describe('event writer (worker thread, own connection)', () => {
  let tmp: ReturnType<typeof makeTempDir>;
  beforeEach(() => {
    tmp = makeTempDir();
  });
  afterEach(() => tmp.remove());

  it('stores a batch in one transaction, tells which ids were new, and touches the agents', async () => {
    const db = openDatabase({ dataDir: tmp.dir });
    db.prepare(
      "INSERT INTO agents (site, agent, state, updated_at) VALUES ('lycee-a', 'hall-1', 'online', '2026-11-22T07:00:00.000Z')",
    ).run();
    const writer = await startEventWriter({ db, logger: silent });
    // a replay inside the batch and one of an earlier batch are both "not new"
    const first = await writer.write({ rows: [...row(id(1)), ...row(id(2))], touches: [] });
    const second = await writer.write({
      rows: [...row(id(3)), ...row(id(3)), ...row(id(1))],
      touches: ['2026-11-22T07:55:00.010Z', 'lycee-a', 'hall-1'],
    });
    expect(first).toEqual({ ok: true, inserted: new Uint8Array([1, 1]) });
    expect(second).toEqual({ ok: true, inserted: new Uint8Array([1, 0, 0]) });
    // visible to the server's own connection once answered
    const ids = db.prepare('SELECT id FROM events ORDER BY id').pluck().all();
    expect(ids).toEqual([id(1), id(2), id(3)]);
    expect(db.prepare("SELECT last_seen FROM agents WHERE site = 'lycee-a'").pluck().get()).toBe(
      '2026-11-22T07:55:00.010Z',
    );
    expect(writer.pending).toBe(0);
    await writer.close();
    expect(writer.alive).toBe(false);
    expect(await writer.write({ rows: row(id(4)), touches: [] })).toEqual({ ok: false, error: 'event writer stopped' });
    db.close();
  });

  it('answers a failed batch with ok:false and nothing of it stored, then goes on', async () => {
    const db = openDatabase({ dataDir: tmp.dir });
    const writer = await startEventWriter({ db, logger: silent, busyTimeoutMs: 20 });
    // another connection holds the write lock: the worker's transaction cannot start
    const other = new BetterSqlite3(path.join(tmp.dir, DB_FILE_NAME));
    other.exec('BEGIN IMMEDIATE');
    const refused = await writer.write({ rows: [...row(id(1)), ...row(id(2))], touches: [] });
    expect(refused.ok).toBe(false);
    expect(refused.ok ? '' : refused.error).toMatch(/locked|busy/i);
    other.exec('ROLLBACK');
    other.close();
    expect(db.prepare('SELECT count(*) FROM events').pluck().get()).toBe(0);
    // the same batch again (what the tick batcher does after a failure): stored whole
    expect(await writer.write({ rows: [...row(id(1)), ...row(id(2))], touches: [] })).toEqual({
      ok: true,
      inserted: new Uint8Array([1, 1]),
    });
    await writer.close();
    db.close();
  });

  it('keeps the order of batches sent without waiting, and close waits for the last', async () => {
    const db = openDatabase({ dataDir: tmp.dir });
    const writer = await startEventWriter({ db, logger: silent });
    const answers = Array.from({ length: 20 }, (_, b) =>
      writer.write({ rows: Array.from({ length: 50 }, (_, i) => row(id(b * 50 + (i % 40)))).flat(), touches: [] }),
    );
    await writer.close();
    const results = await Promise.all(answers);
    // every batch answered; in each, the ids 40..49 repeat 0..9 of the same batch: not new
    for (const r of results) {
      expect(r.ok).toBe(true);
      if (r.ok) expect([...r.inserted].filter((x) => x === 1)).toHaveLength(40);
    }
    expect(db.prepare('SELECT count(*) FROM events').pluck().get()).toBe(800);
    expect(results[0]!.ok && results[0]!.inserted.length).toBe(50);
    db.close();
  });

  it('fails to start with a clear error on a database without the events table', async () => {
    const raw = new BetterSqlite3(path.join(tmp.dir, 'empty.sqlite'));
    raw.pragma('journal_mode = WAL');
    await expect(startEventWriter({ db: raw, logger: silent })).rejects.toThrow(/event writer could not open .*events/);
    raw.close();
  });
});
