import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import Database from 'better-sqlite3';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openEdgeStore } from '../store/edge-store.js';
import { openSqliteOutbox, type Outbox, type OutboxOptions } from './outbox.js';

/** pino writing JSON lines into an array, to check what is logged and at which level */
function captureLogger() {
  const lines: Array<{ level: number; msg: string; [k: string]: unknown }> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as (typeof lines)[number]);
      cb();
    },
  });
  return { logger: pino({ level: 'debug' }, sink), lines };
}

const ev = (i: number, camera = `cam-${i % 2}`) => ({
  key: 'movement' as const,
  eventId: `id-${i}`,
  camera,
  payload: JSON.stringify({ i }),
});
const payloadIndex = (p: string) => (JSON.parse(p) as { i: number }).i;

describe('SQLite outbox', () => {
  let dir: string;
  let path: string;
  let clock: number;
  const opened: Outbox[] = [];
  const open = (o: Partial<OutboxOptions> = {}) => {
    const ob = openSqliteOutbox({
      db: path,
      site: 's1',
      agent: 'a1',
      logger: pino({ level: 'silent' }),
      maxRows: 1000,
      maxAgeS: 3600,
      keepDeliveredS: 0,
      now: () => clock,
      ...o,
    });
    opened.push(ob);
    return ob;
  };
  const unwrap = <T>(r: { ok: true; value: T } | { ok: false; error: { code: string; message: string } }): T => {
    if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
    return r.value;
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'portail-outbox-'));
    path = join(dir, 'agent.sqlite');
    clock = 1_800_000_000_000;
  });
  afterEach(() => {
    for (const o of opened.splice(0)) o.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('returns pending events in enqueue order, page by page after a seq', () => {
    const ob = open();
    const seqs = Array.from({ length: 10 }, (_, i) => unwrap(ob.enqueue(ev(i))));
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(10);
    const first = unwrap(ob.pending(0, 4));
    expect(first.map((e) => payloadIndex(e.payload))).toEqual([0, 1, 2, 3]);
    const next = unwrap(ob.pending(first.at(-1)!.seq, 100));
    expect(next.map((e) => payloadIndex(e.payload))).toEqual([4, 5, 6, 7, 8, 9]);
    expect(next[0]).toMatchObject({ key: 'movement', eventId: 'id-4', camera: 'cam-0', createdMs: clock });
    expect(ob.depth()).toBe(10);
  });

  it('removes an event on PUBACK (keepDeliveredS 0) and leaves the others in order', () => {
    const ob = open();
    const seqs = [0, 1, 2, 3, 4].map((i) => unwrap(ob.enqueue(ev(i))));
    unwrap(ob.markDelivered([seqs[0]!, seqs[2]!]));
    expect(ob.depth()).toBe(3);
    expect(unwrap(ob.pending(0, 100)).map((e) => payloadIndex(e.payload))).toEqual([1, 3, 4]);
    expect(ob.stats()).toMatchObject({ pending: 3, delivered: 0, overflow: 0 });
    const db = new Database(path, { readonly: true });
    expect((db.prepare('SELECT count(*) AS n FROM outbox').get() as { n: number }).n).toBe(3);
    db.close();
    // a second PUBACK for the same event (a duplicate delivery) changes nothing
    unwrap(ob.markDelivered([seqs[0]!]));
    expect(ob.depth()).toBe(3);
  });

  it('replays after a reopen what was never acknowledged, including events published just before a crash', () => {
    const ob = open();
    const seqs = [0, 1, 2, 3, 4, 5].map((i) => unwrap(ob.enqueue(ev(i))));
    // 0 and 1 acknowledged; 2 and 3 handed to the broker but the process dies before their PUBACK
    unwrap(ob.markDelivered([seqs[0]!, seqs[1]!]));
    expect(unwrap(ob.pending(0, 2)).map((e) => payloadIndex(e.payload))).toEqual([2, 3]);
    ob.close();

    const again = open();
    expect(again.depth()).toBe(4);
    expect(unwrap(again.pending(0, 100)).map((e) => payloadIndex(e.payload))).toEqual([2, 3, 4, 5]);
    // new events go after the replayed ones, and a seq is never reused even once the newest row is gone
    unwrap(again.markDelivered(unwrap(again.pending(0, 100)).map((e) => e.seq)));
    expect(again.depth()).toBe(0);
    const later = unwrap(again.enqueue(ev(6)));
    expect(later).toBeGreaterThan(seqs.at(-1)!);
  });

  it('keeps delivered events for keepDeliveredS and puts them back, in order, when the broker lost them', () => {
    const ob = open({ keepDeliveredS: 60 });
    const seqs = [0, 1, 2, 3].map((i) => unwrap(ob.enqueue(ev(i))));
    unwrap(ob.markDelivered([seqs[0]!, seqs[1]!, seqs[2]!]));
    expect(ob.stats()).toMatchObject({ pending: 1, delivered: 3 });
    expect(unwrap(ob.pending(0, 100)).map((e) => payloadIndex(e.payload))).toEqual([3]);

    expect(unwrap(ob.requeueDelivered())).toBe(3);
    expect(unwrap(ob.pending(0, 100)).map((e) => payloadIndex(e.payload))).toEqual([0, 1, 2, 3]);
    expect(ob.stats()).toMatchObject({ pending: 4, delivered: 0 });

    // delivered again, then older than keepDeliveredS: expired quietly (not an overflow)
    unwrap(ob.markDelivered(seqs));
    clock += 61_000;
    expect(unwrap(ob.prune())).toEqual({ dropped: 0, expired: 4 });
    expect(ob.stats()).toMatchObject({ pending: 0, delivered: 0, expired: 4, overflow: 0 });
  });

  it('bounds the row count: delivered events go first, then the oldest pending, counted and logged as overflow', () => {
    const { logger, lines } = captureLogger();
    const ob = open({ maxRows: 5, keepDeliveredS: 3600, logger });
    const seqs = [0, 1, 2].map((i) => unwrap(ob.enqueue(ev(i))));
    unwrap(ob.markDelivered([seqs[0]!, seqs[1]!]));
    // 3 rows (2 delivered); 4 more: the 2 delivered make room first, then pending 2 is dropped
    for (const i of [3, 4, 5, 6]) unwrap(ob.enqueue(ev(i)));
    expect(ob.stats()).toMatchObject({ pending: 5, delivered: 0, expired: 2, overflow: 0 });
    unwrap(ob.enqueue(ev(7)));
    unwrap(ob.enqueue(ev(8)));
    expect(unwrap(ob.pending(0, 100)).map((e) => payloadIndex(e.payload))).toEqual([4, 5, 6, 7, 8]);
    expect(ob.stats()).toMatchObject({ pending: 5, overflow: 2 });
    const errors = lines.filter((l) => l.level === 50);
    // loud but not one line per event: the first drop is logged at once, the next within a minute is summed up later
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({
      msg: 'outbox overflow: oldest undelivered events dropped',
      reason: 'max_rows',
      dropped: 1,
      overflow: 1,
    });
    clock += 61_000;
    unwrap(ob.enqueue(ev(9)));
    expect(lines.filter((l) => l.level === 50).at(-1)).toMatchObject({ overflow: 3, suppressed: 1 });
  });

  it('bounds the age: pending events older than maxAgeS are dropped as overflow', () => {
    const ob = open({ maxAgeS: 60 });
    unwrap(ob.enqueue(ev(0)));
    unwrap(ob.enqueue(ev(1)));
    clock += 30_000;
    unwrap(ob.enqueue(ev(2)));
    clock += 31_000;
    expect(unwrap(ob.prune())).toEqual({ dropped: 2, expired: 0 });
    expect(unwrap(ob.pending(0, 100)).map((e) => payloadIndex(e.payload))).toEqual([2]);
    expect(ob.stats()).toMatchObject({ pending: 1, overflow: 2 });
  });

  it('only sees its own site/agent in a shared file, and shares the file with the edge store', () => {
    const a = open();
    const b = open({ agent: 'a2' });
    unwrap(a.enqueue(ev(0)));
    unwrap(b.enqueue(ev(1)));
    unwrap(a.enqueue(ev(2)));
    expect(unwrap(a.pending(0, 100)).map((e) => payloadIndex(e.payload))).toEqual([0, 2]);
    expect(unwrap(b.pending(0, 100)).map((e) => payloadIndex(e.payload))).toEqual([1]);
    expect(a.depth()).toBe(2);
    const store = openEdgeStore(path);
    expect(store.templateCount()).toBe(0);
    store.close();
    const db = new Database(path, { readonly: true });
    expect(db.pragma('user_version', { simple: true })).toBe(3); // templates + revocations, outbox, sync state
    db.close();
  });

  it('reports a full disk and a locked database as values, and works again afterwards', () => {
    const db = new Database(path);
    const ob = openSqliteOutbox({
      db,
      site: 's1',
      agent: 'a1',
      logger: pino({ level: 'silent' }),
      maxRows: 1000,
      maxAgeS: 3600,
      keepDeliveredS: 0,
      busyTimeoutMs: 0,
    });
    opened.push(ob);
    unwrap(ob.enqueue(ev(0)));

    // disk full: SQLite refuses to grow the file past max_page_count, as it would on ENOSPC
    const pages = db.pragma('page_count', { simple: true }) as number;
    db.pragma(`max_page_count = ${pages}`);
    const big = { ...ev(1), payload: JSON.stringify({ i: 1, pad: 'x'.repeat(64 * 1024) }) };
    const full = ob.enqueue(big);
    expect(full.ok).toBe(false);
    if (!full.ok) expect(full.error.code).toBe('OUTBOX_ERR_FULL');
    db.pragma('max_page_count = 1073741823');

    // locked: another connection holds the write lock
    const other = new Database(path);
    other.exec('BEGIN IMMEDIATE');
    const locked = ob.enqueue(ev(2));
    expect(locked.ok).toBe(false);
    if (!locked.ok) expect(locked.error.code).toBe('OUTBOX_ERR_BUSY');
    other.exec('ROLLBACK');
    other.close();

    expect(ob.stats()).toMatchObject({ writeErrors: 2, pending: 1 });
    unwrap(ob.enqueue(ev(3)));
    expect(unwrap(ob.pending(0, 100)).map((e) => payloadIndex(e.payload))).toEqual([0, 3]);
    ob.close();
    db.close();
  });
});
