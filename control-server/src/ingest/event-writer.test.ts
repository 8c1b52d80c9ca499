import BetterSqlite3 from 'better-sqlite3';
import path from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { eventFromRow, type EventRow } from '../repositories/event-repository.js';
import { DB_FILE_NAME, openDatabase } from '../store/database.js';
import { makeAccessEvent, makeCameraEvent, makeMovementEvent, makeTempDir } from '../test-support/fixtures.js';
import { startEventWriter, WRITE_STATUS, WRITTEN_EVENT_KINDS, type RawEventBatch } from './event-writer.js';

const silent = pino({ level: 'silent' });
const { stored, duplicate, notChecked } = WRITE_STATUS;
const RECEIVED_MS = Date.parse('2026-11-22T07:55:00.010Z');

interface Msg {
  kind: (typeof WRITTEN_EVENT_KINDS)[number];
  /** the topic's site and agent */
  site?: string;
  agent?: string;
  payload: object | string;
  receivedMs?: number;
}

/** A batch as the ingest packs it: payloads back to back, one entry per (site, agent) topic. */
function batchOf(msgs: Msg[], skew = { aheadMs: 300_000, behindMs: 8 * 86_400_000 }): RawEventBatch {
  const texts = msgs.map((m) => Buffer.from(typeof m.payload === 'string' ? m.payload : JSON.stringify(m.payload)));
  const bytes = new Uint8Array(texts.reduce((n, t) => n + t.length, 0));
  const ends = new Uint32Array(msgs.length);
  let at = 0;
  texts.forEach((t, i) => {
    bytes.set(t, at);
    at += t.length;
    ends[i] = at;
  });
  const pairs: string[] = [];
  const topics = msgs.map((m) => {
    const key = `${m.site ?? 'lycee-a'}/${m.agent ?? 'gate-1'}`;
    if (!pairs.includes(key)) pairs.push(key);
    return pairs.indexOf(key);
  });
  return {
    bytes,
    ends,
    kinds: Uint8Array.from(msgs.map((m) => WRITTEN_EVENT_KINDS.indexOf(m.kind))),
    topics: Uint32Array.from(topics),
    sites: pairs.map((p) => p.split('/')[0]!),
    agents: pairs.map((p) => p.split('/')[1]!),
    receivedMs: Float64Array.from(msgs.map((m) => m.receivedMs ?? RECEIVED_MS)),
    ...skew,
  };
}

/** A stored event as the repository reads it back. */
function readBack(db: BetterSqlite3.Database, id: string): object {
  return eventFromRow(db.prepare('SELECT * FROM events WHERE id = ?').get(id) as EventRow);
}

/** The JSON of each stored event of an answer, in order. */
function jsonsOf(r: { json: string; ends: Uint32Array }): string[] {
  return [...r.ends].map((end, i) => r.json.slice(i === 0 ? 0 : r.ends[i - 1], end));
}

describe('event writer (worker thread: parse, check, store)', () => {
  let tmp: ReturnType<typeof makeTempDir>;
  beforeEach(() => {
    tmp = makeTempDir();
  });
  afterEach(() => tmp.remove());

  it('stores a batch in one transaction, tells which ids were new, gives their live JSON, touches the agents', async () => {
    const db = openDatabase({ dataDir: tmp.dir });
    db.prepare(
      "INSERT INTO agents (site, agent, state, updated_at) VALUES ('lycee-a', 'gate-1', 'online', '2026-11-22T07:00:00.000Z')",
    ).run();
    const writer = await startEventWriter({ db, logger: silent });
    const a = makeAccessEvent('lycee-a', 'gate-1');
    const m = makeMovementEvent('lycee-a', 'gate-1');
    const c = makeCameraEvent('lycee-a', 'gate-1');
    // a replay inside the batch and one of an earlier batch are both "already there"
    const first = await writer.ingest(batchOf([{ kind: 'access', payload: a }]));
    const second = await writer.ingest(
      batchOf([
        { kind: 'movement', payload: m },
        { kind: 'movement', payload: m },
        { kind: 'access', payload: a },
        { kind: 'camera', payload: c },
      ]),
    );
    if (!first.ok || !second.ok) throw new Error('batch refused');
    expect([...first.status]).toEqual([stored]);
    expect([...second.status]).toEqual([stored, duplicate, duplicate, stored]);
    // the JSON built in the worker is byte for byte that of the event read back from the database
    const expected = [a.id, m.id, c.id].map((id) => JSON.stringify(readBack(db, id)));
    expect([...jsonsOf(first), ...jsonsOf(second)]).toEqual(expected);
    expect(JSON.parse(jsonsOf(second)[0]!)).toMatchObject({
      kind: 'movement',
      receivedAt: '2026-11-22T07:55:00.010Z',
      payload: m,
    });
    expect(db.prepare("SELECT last_seen FROM agents WHERE site = 'lycee-a'").pluck().get()).toBe(
      '2026-11-22T07:55:00.010Z',
    );
    expect(writer.pending).toBe(0);
    await writer.close();
    expect(writer.alive).toBe(false);
    expect(await writer.ingest(batchOf([{ kind: 'access', payload: makeAccessEvent('lycee-a', 'gate-1') }]))).toEqual({
      ok: false,
      error: 'event writer stopped',
    });
    db.close();
  });

  it('leaves to the main thread what it does not accept, and stores the rest of the batch', async () => {
    const db = openDatabase({ dataDir: tmp.dir });
    const writer = await startEventWriter({ db, logger: silent });
    const good = makeAccessEvent('lycee-a', 'gate-1');
    const { decision: _dropped, ...incomplete } = makeAccessEvent('lycee-a', 'gate-1');
    // a key zod accepts and the compiled check refuses (34 UTF-16 units): zod has the last word
    const zodOnly = makeAccessEvent('lycee-a', 'gate-1', { timingsMs: { ['😀'.repeat(17)]: 1 } });
    const r = await writer.ingest(
      batchOf([
        { kind: 'access', payload: '{"id": "not json' },
        { kind: 'access', payload: '42' },
        { kind: 'access', payload: incomplete },
        // the payload says another site than its topic
        { kind: 'access', site: 'lycee-b', payload: makeAccessEvent('lycee-a', 'gate-1') },
        // an access event on the movement topic
        { kind: 'movement', payload: makeAccessEvent('lycee-a', 'gate-1') },
        { kind: 'access', payload: zodOnly },
        // a number JSON.parse makes Infinity: zod refuses it, so must the compiled check
        {
          kind: 'access',
          payload: JSON.stringify(makeAccessEvent('lycee-a', 'gate-1', { timingsMs: { total: 1 } })).replace(
            '"total":1',
            '"total":1e400',
          ),
        },
        { kind: 'access', payload: good },
      ]),
    );
    if (!r.ok) throw new Error(r.error);
    expect([...r.status]).toEqual([
      notChecked,
      notChecked,
      notChecked,
      notChecked,
      notChecked,
      notChecked,
      notChecked,
      stored,
    ]);
    expect(jsonsOf(r)).toHaveLength(1);
    expect(db.prepare('SELECT id FROM events').pluck().all()).toEqual([good.id]);
    await writer.close();
    db.close();
  });

  it('stores ts in the canonical shape and counts edge clocks far from the receipt time', async () => {
    const db = openDatabase({ dataDir: tmp.dir });
    const writer = await startEventWriter({ db, logger: silent });
    const short = makeMovementEvent('lycee-a', 'gate-1', { ts: '2026-11-22T07:55:00Z' });
    const ahead = makeMovementEvent('lycee-a', 'gate-1', { ts: '2026-11-22T08:55:00.010Z' });
    const behind = makeMovementEvent('lycee-a', 'gate-1', { ts: '2026-11-01T07:55:00.010Z' });
    const r = await writer.ingest(
      batchOf(
        [
          { kind: 'movement', payload: short },
          { kind: 'movement', payload: ahead },
          { kind: 'movement', payload: behind },
        ],
        { aheadMs: 60_000, behindMs: 86_400_000 },
      ),
    );
    if (!r.ok) throw new Error(r.error);
    expect([...r.status]).toEqual([stored, stored, stored]);
    expect({ future: r.skewFuture, past: r.skewPast }).toEqual({ future: 1, past: 1 });
    expect(db.prepare('SELECT ts FROM events WHERE id = ?').pluck().get(short.id)).toBe('2026-11-22T07:55:00.000Z');
    // the payload keeps what the agent sent
    expect(JSON.parse(jsonsOf(r)[0]!)).toMatchObject({ ts: '2026-11-22T07:55:00.000Z', payload: { ts: short.ts } });
    await writer.close();
    db.close();
  });

  it('answers a failed batch with ok:false and nothing of it stored, then goes on', async () => {
    const db = openDatabase({ dataDir: tmp.dir });
    const writer = await startEventWriter({ db, logger: silent, busyTimeoutMs: 20 });
    // another connection holds the write lock: the worker's transaction cannot start
    const other = new BetterSqlite3(path.join(tmp.dir, DB_FILE_NAME));
    other.exec('BEGIN IMMEDIATE');
    const msgs: Msg[] = [
      { kind: 'access', payload: makeAccessEvent('lycee-a', 'gate-1') },
      { kind: 'movement', payload: makeMovementEvent('lycee-a', 'gate-1') },
    ];
    const refused = await writer.ingest(batchOf(msgs));
    expect(refused.ok).toBe(false);
    expect(refused.ok ? '' : refused.error).toMatch(/locked|busy/i);
    other.exec('ROLLBACK');
    other.close();
    expect(db.prepare('SELECT count(*) FROM events').pluck().get()).toBe(0);
    // the same batch again (what the tick batcher does after a failure): stored whole
    const again = await writer.ingest(batchOf(msgs));
    expect(again.ok && [...again.status]).toEqual([stored, stored]);
    await writer.close();
    db.close();
  });

  it('keeps the order of batches sent without waiting, and close waits for the last', async () => {
    const db = openDatabase({ dataDir: tmp.dir });
    const writer = await startEventWriter({ db, logger: silent });
    const pool = Array.from({ length: 800 }, () => makeMovementEvent('lycee-a', 'gate-1'));
    // in each batch of 50, the last 10 repeat the first 10 of the same batch
    const answers = Array.from({ length: 20 }, (_, b) =>
      writer.ingest(
        batchOf(Array.from({ length: 50 }, (_, i) => ({ kind: 'movement', payload: pool[b * 40 + (i % 40)]! }))),
      ),
    );
    await writer.close();
    const results = await Promise.all(answers);
    for (const r of results) {
      if (!r.ok) throw new Error(r.error);
      expect([...r.status].filter((x) => x === stored)).toHaveLength(40);
      expect(r.status).toHaveLength(50);
    }
    expect(db.prepare('SELECT count(*) FROM events').pluck().get()).toBe(800);
    db.close();
  });

  it('fails to start with a clear error on a database without the events table', async () => {
    const raw = new BetterSqlite3(path.join(tmp.dir, 'empty.sqlite'));
    raw.pragma('journal_mode = WAL');
    await expect(startEventWriter({ db: raw, logger: silent })).rejects.toThrow(/event writer could not open .*events/);
    raw.close();
  });
});
