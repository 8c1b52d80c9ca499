import BetterSqlite3 from 'better-sqlite3';
import path from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { buildTopic } from '@portail/protocol';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { insertedEventJson, createEventRepository } from '../repositories/event-repository.js';
import { createAgentRepository } from '../repositories/agent-repository.js';
import { createLiveBus, type LiveMessage } from '../services/live-bus.js';
import { DB_FILE_NAME, openDatabase } from '../store/database.js';
import { makeAccessEvent, makeHealth, makeMovementEvent, makeTempDir } from '../test-support/fixtures.js';
import { startEventWriter, type EventWriter } from './event-writer.js';
import { createIngest } from './ingest-service.js';

const silent = pino({ level: 'silent' });
const msg = (key: 'access' | 'movement' | 'health', value: object): [string, Buffer] => [
  buildTopic(key, 'lycee-a', 'gate-1'),
  Buffer.from(JSON.stringify(value)),
];

/** The real ingest on a real SQLite file, its events written by a real event writer worker. */
async function setup(dir: string, busyTimeoutMs?: number) {
  const db = openDatabase({ dataDir: dir });
  const writer = await startEventWriter({
    db,
    logger: silent,
    ...(busyTimeoutMs !== undefined ? { busyTimeoutMs } : {}),
  });
  const bus = createLiveBus();
  const live: LiveMessage[] = [];
  bus.subscribe((m) => live.push(m));
  const ingest = createIngest({
    events: createEventRepository(db),
    agents: createAgentRepository(db),
    bus,
    logger: silent,
    db,
    eventWriter: writer,
  });
  return { db, writer, ingest, live };
}

describe('ingest with the event writer (beginAsync)', () => {
  let tmp: ReturnType<typeof makeTempDir>;
  beforeEach(() => {
    tmp = makeTempDir();
  });
  afterEach(() => tmp.remove());

  it('stores the events off-thread, pushes them only once stored, counts replays as duplicates', async () => {
    const { db, writer, ingest, live } = await setup(tmp.dir);
    const a = makeAccessEvent('lycee-a', 'gate-1');
    const m = makeMovementEvent('lycee-a', 'gate-1');
    const b1 = ingest.beginAsync();
    for (const [t, p] of [
      msg('health', makeHealth('lycee-a', 'gate-1')),
      msg('access', a),
      msg('movement', m),
      msg('access', a),
    ])
      expect(b1.handle(t, p)).toEqual({ kind: 'pending' });
    const committed = b1.commit();
    // the next batch may open while the first is with the worker
    const b2 = ingest.beginAsync();
    b2.handle(...msg('movement', m));
    expect(live.filter((x) => x.type === 'event')).toEqual([]);
    expect(await committed).toEqual({ ok: true });
    expect(await b2.commit()).toEqual({ ok: true });

    const events = live.filter((x): x is Extract<LiveMessage, { type: 'event' }> => x.type === 'event');
    expect(events.map((e) => e.event.id)).toEqual([a.id, m.id]);
    // the live JSON is the stored event's, without a second serialisation of the payload
    expect(insertedEventJson(events[0]!.event)).toBe(JSON.stringify(events[0]!.event));
    expect(live.some((x) => x.type === 'health')).toBe(true);
    const s = ingest.stats();
    expect(s).toMatchObject({ received: 5, stored: 2, duplicates: 2, healthUpdates: 1, storeErrors: 0 });
    expect(db.prepare('SELECT id FROM events ORDER BY id').pluck().all()).toEqual([a.id, m.id].sort());
    // the agent's last receipt went with the events
    expect(db.prepare("SELECT last_seen FROM agents WHERE agent = 'gate-1'").pluck().get()).not.toBeNull();
    await writer.close();
    db.close();
  });

  it('answers ok:false and pushes nothing when the events cannot be written, then stores them on retry', async () => {
    const { db, writer, ingest, live } = await setup(tmp.dir, 20);
    const a = makeAccessEvent('lycee-a', 'gate-1');
    const other = new BetterSqlite3(path.join(tmp.dir, DB_FILE_NAME));
    other.exec('BEGIN IMMEDIATE');
    const b1 = ingest.beginAsync();
    b1.handle(...msg('access', a));
    const failed = await b1.commit();
    expect(failed.ok).toBe(false);
    expect(ingest.stats()).toMatchObject({ stored: 0, storeErrors: 1 });
    expect(live).toEqual([]);
    other.exec('ROLLBACK');
    other.close();
    const b2 = ingest.beginAsync();
    b2.handle(...msg('access', a));
    expect(await b2.commit()).toEqual({ ok: true });
    expect(ingest.stats()).toMatchObject({ stored: 1, duplicates: 0 });
    expect(live.map((x) => x.type)).toEqual(['event']);
    await writer.close();
    db.close();
  });

  it('decides here, with zod, what the writer left alone: rejects by reason, stores what zod accepts', async () => {
    const { db, writer, ingest, live } = await setup(tmp.dir);
    const good = makeAccessEvent('lycee-a', 'gate-1');
    // a timingsMs key the compiled check refuses and zod accepts (34 UTF-16 units): stored all the same
    const zodOnly = makeAccessEvent('lycee-a', 'gate-1', { timingsMs: { ['😀'.repeat(17)]: 1 } });
    const { decision: _dropped, ...incomplete } = makeAccessEvent('lycee-a', 'gate-1');
    const b = ingest.beginAsync();
    b.handle(buildTopic('access', 'lycee-a', 'gate-1'), Buffer.from('{"id": "not json'));
    b.handle(...msg('access', incomplete));
    b.handle(...msg('access', makeAccessEvent('lycee-b', 'gate-1')));
    b.handle(...msg('access', zodOnly));
    b.handle(...msg('access', good));
    expect(await b.commit()).toEqual({ ok: true });
    const s = ingest.stats();
    expect(s).toMatchObject({ received: 5, stored: 2, duplicates: 0, storeErrors: 0 });
    expect(s.rejected).toMatchObject({ invalid_json: 1, invalid_schema: 1, topic_mismatch: 1 });
    expect(db.prepare('SELECT id FROM events ORDER BY id').pluck().all()).toEqual([good.id, zodOnly.id].sort());
    const pushed = live.filter((x): x is Extract<LiveMessage, { type: 'event' }> => x.type === 'event');
    expect(pushed.map((e) => e.event.id).sort()).toEqual([good.id, zodOnly.id].sort());
    // both kinds of stored event (built by the writer, by this thread) serialise as the event read back
    for (const e of pushed)
      expect(JSON.parse(insertedEventJson(e.event)!)).toEqual(JSON.parse(JSON.stringify(e.event)));
    await writer.close();
    db.close();
  });

  it('when only the writes decided here fail, names those for a retry and keeps what the writer stored', async () => {
    const { db, writer, ingest, live } = await setup(tmp.dir);
    const good = makeAccessEvent('lycee-a', 'gate-1');
    const zodOnly = makeAccessEvent('lycee-a', 'gate-1', { timingsMs: { ['😀'.repeat(17)]: 1 } });
    // a trigger of this connection only (TEMP): the server's own inserts fail, the writer's do not
    db.exec("CREATE TEMP TRIGGER no_insert_here BEFORE INSERT ON events BEGIN SELECT RAISE(ABORT, 'disk full'); END");
    const b1 = ingest.beginAsync();
    b1.handle(...msg('health', makeHealth('lycee-a', 'gate-1')));
    b1.handle(...msg('access', good));
    const zodOnlyMsg = msg('access', zodOnly);
    b1.handle(...zodOnlyMsg);
    const failed = await b1.commit();
    expect(failed.ok).toBe(false);
    expect(failed.ok ? null : failed.unstored).toEqual([[zodOnlyMsg[0], zodOnlyMsg[1]]]);
    expect(ingest.stats()).toMatchObject({ stored: 1, duplicates: 0, storeErrors: 1, healthUpdates: 1 });
    expect(live.map((x) => x.type).sort()).toEqual(['agent', 'event', 'health']);
    db.exec('DROP TRIGGER no_insert_here');
    // the retry handles only what was not stored: no false duplicate, no second health push
    const b2 = ingest.beginAsync();
    for (const [t, p] of failed.ok ? [] : failed.unstored!) b2.handle(t, p);
    expect(await b2.commit()).toEqual({ ok: true });
    expect(ingest.stats()).toMatchObject({ stored: 2, duplicates: 0, healthUpdates: 1 });
    expect(live.map((x) => x.type).sort()).toEqual(['agent', 'event', 'event', 'health']);
    expect(db.prepare('SELECT id FROM events ORDER BY id').pluck().all()).toEqual([good.id, zodOnly.id].sort());
    await writer.close();
    db.close();
  });

  it('an event writer that dies after its commit, before answering: the retry counts and pushes those events once', async () => {
    const db = openDatabase({ dataDir: tmp.dir });
    const repo = createEventRepository(db);
    // a crash can't be timed between a real worker's COMMIT and its answer: this writer commits the
    // batch (on the same file, through the repository) and then reports itself stopped, as a worker
    // that exited with the batch in hand is reported
    let alive = true;
    const dying: EventWriter = {
      get alive() {
        return alive;
      },
      pending: 0,
      async ingest(batch) {
        const text = Buffer.from(batch.bytes).toString('utf8');
        let start = 0;
        for (let i = 0; i < batch.ends.length; i++) {
          const v = JSON.parse(text.slice(start, batch.ends[i])) as Parameters<typeof repo.insert<'access'>>[1];
          start = batch.ends[i]!;
          repo.insert('access', v, new Date(batch.receivedMs[i]!).toISOString());
        }
        alive = false;
        return { ok: false, error: 'event writer stopped: exited with code 1', maybeStored: true };
      },
      close: async () => undefined,
    };
    const bus = createLiveBus();
    const live: LiveMessage[] = [];
    bus.subscribe((m) => live.push(m));
    const ingest = createIngest({
      events: repo,
      agents: createAgentRepository(db),
      bus,
      logger: silent,
      db,
      eventWriter: dying,
    });
    const a = makeAccessEvent('lycee-a', 'gate-1');
    const replay = makeAccessEvent('lycee-a', 'gate-1');
    repo.insert('access', replay, new Date(Date.now() - 60_000).toISOString());
    const b1 = ingest.beginAsync();
    b1.handle(...msg('access', a));
    b1.handle(...msg('access', replay));
    expect((await b1.commit()).ok).toBe(false);
    expect(live).toEqual([]);
    expect(db.prepare('SELECT count(*) FROM events').pluck().get()).toBe(2);
    // the retry, on this thread now: `a` is the dead writer's commit (stored, pushed), `replay` was there before
    const b2 = ingest.beginAsync();
    b2.handle(...msg('access', a));
    b2.handle(...msg('access', replay));
    expect(await b2.commit()).toEqual({ ok: true });
    expect(ingest.stats()).toMatchObject({ stored: 1, duplicates: 1 });
    const pushed = live.filter((x): x is Extract<LiveMessage, { type: 'event' }> => x.type === 'event');
    expect(pushed.map((e) => e.event.id)).toEqual([a.id]);
    // and a later replay of `a` is a duplicate again
    const b3 = ingest.beginAsync();
    b3.handle(...msg('access', a));
    expect(await b3.commit()).toEqual({ ok: true });
    expect(ingest.stats()).toMatchObject({ stored: 1, duplicates: 2 });
    db.close();
  });

  it('a committed batch lets go of its messages even while the batch object is still referenced', async () => {
    // V8 often promotes a batch (alive at a scavenge) to the old generation, where it outlives its
    // commit until a full collection: whatever it still points to is kept, and promoted, meanwhile
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const { db, writer, ingest } = await setup(tmp.dir);
    const b = ingest.beginAsync();
    // in a function of its own: no variable of this (suspended) test function may hold a payload
    const refs = ((): Array<WeakRef<object>> =>
      [msg('access', makeAccessEvent('lycee-a', 'gate-1')), msg('health', makeHealth('lycee-a', 'gate-1'))].map(
        ([t, p]) => {
          b.handle(t, p);
          return new WeakRef(p);
        },
      ))();
    expect(await b.commit()).toEqual({ ok: true });
    await new Promise((r) => setImmediate(r));
    gc();
    expect(b.size).toBe(2); // the batch object itself is still here
    expect(refs.map((r) => r.deref())).toEqual([undefined, undefined]);
    await writer.close();
    db.close();
  });

  it('writes on its own connection once the worker is gone', async () => {
    const { db, writer, ingest, live } = await setup(tmp.dir);
    await writer.close();
    expect(writer.alive).toBe(false);
    const a = makeAccessEvent('lycee-a', 'gate-1');
    const b = ingest.beginAsync();
    b.handle(...msg('access', a));
    b.handle(...msg('access', a));
    expect(await b.commit()).toEqual({ ok: true });
    expect(ingest.stats()).toMatchObject({ stored: 1, duplicates: 1, storeErrors: 0 });
    expect(live.map((x) => x.type)).toEqual(['event']);
    expect(db.prepare('SELECT count(*) FROM events').pluck().get()).toBe(1);
    db.close();
  });
});
