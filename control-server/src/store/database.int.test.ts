import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAgentRepository } from '../repositories/agent-repository.js';
import { createEventRepository } from '../repositories/event-repository.js';
import { makeAccessEvent, makeCameraEvent, makeHealth, makeStatus, makeTempDir } from '../test-support/fixtures.js';
import { currentSchemaVersion, DB_FILE_NAME, migrate, openDatabase } from './database.js';
import { MIGRATIONS, type Migration } from './migrations.js';

describe('store on a real SQLite file', () => {
  let tmp: ReturnType<typeof makeTempDir>;
  beforeEach(() => {
    tmp = makeTempDir();
  });
  afterEach(() => tmp.remove());

  it('applies every migration once, in WAL mode with a busy timeout', () => {
    const db = openDatabase({ dataDir: tmp.dir });
    expect(currentSchemaVersion(db)).toBe(MIGRATIONS.at(-1)!.version);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('busy_timeout', { simple: true })).toBe(5000);
    const tables = db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
      .all()
      .map((r) => (r as { name: string }).name);
    expect(tables).toEqual(expect.arrayContaining(['agents', 'events', 'schema_migrations']));
    // running again applies nothing
    expect(migrate(db, MIGRATIONS)).toEqual([]);
    db.close();
  });

  it('applies only the new migrations of a later release, and refuses a database from the future', () => {
    const db = openDatabase({ dataDir: tmp.dir });
    const nextVersion = MIGRATIONS.at(-1)!.version + 1;
    const next: Migration = {
      version: nextVersion,
      name: 'test column',
      up: (d) => d.exec('ALTER TABLE agents ADD COLUMN note TEXT'),
    };
    expect(migrate(db, [...MIGRATIONS, next])).toEqual([nextVersion]);
    expect(currentSchemaVersion(db)).toBe(nextVersion);
    expect(() => migrate(db, MIGRATIONS)).toThrow(/newer than this server knows/);
    db.close();
  });

  it('tolerates gaps between versions and applies a lower version merged after a higher one', () => {
    const base = MIGRATIONS.filter((m) => m.version < 10);
    const ours = MIGRATIONS.filter((m) => m.version >= 10 && m.version < 25);
    // streams numbered above the stand-in (sync 30, privacy 40) stay in order after it
    const after = MIGRATIONS.filter((m) => m.version > 25);
    const later: Migration = {
      version: 25,
      name: 'other stream',
      up: (d) => d.exec('CREATE TABLE other_stream (x INTEGER) STRICT'),
    };
    const db = openDatabase({ dataDir: tmp.dir, migrations: [...base, later] });
    expect(currentSchemaVersion(db)).toBe(25);
    // versions 10+ arrive with a later merge: they run although 25 is already recorded
    expect(migrate(db, [...base, ...ours, later, ...after])).toEqual([...ours, ...after].map((m) => m.version));
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{ name: string }>;
    expect(tables.map((t) => t.name)).toEqual(
      expect.arrayContaining(['users', 'sessions', 'audit_log', 'other_stream']),
    );
    expect(migrate(db, [...base, ...ours, later, ...after])).toEqual([]);
    db.close();
  });

  it('stores an event id once and reports whether it was new', () => {
    const db = openDatabase({ dataDir: tmp.dir });
    const events = createEventRepository(db);
    const e = makeAccessEvent('lycee-a', 'gate-1');
    const first = events.insert('access', e, new Date().toISOString());
    expect(first.inserted).toBe(true);
    const again = events.insert('access', { ...e, decision: 'mismatch' }, new Date().toISOString());
    expect(again.inserted).toBe(false);
    // the first copy wins
    expect(again.event.payload).toMatchObject({ decision: 'confirmed' });
    expect(events.count()).toBe(1);
    db.close();
  });

  it('keeps events and agents across a reopen', () => {
    const db = openDatabase({ dataDir: tmp.dir });
    const events = createEventRepository(db);
    const agents = createAgentRepository(db);
    const cam = makeCameraEvent('lycee-a', 'gate-1');
    events.insert('camera', cam, new Date().toISOString());
    agents.applyStatus(makeStatus('lycee-a', 'gate-1'), new Date().toISOString());
    agents.applyHealth(makeHealth('lycee-a', 'gate-1'), new Date().toISOString());
    db.close();

    const reopened = openDatabase({ dataDir: tmp.dir });
    const list = createEventRepository(reopened).list({ limit: 10 });
    expect(list.ok && list.events.map((x) => x.id)).toEqual([cam.id]);
    const agent = createAgentRepository(reopened).get('lycee-a', 'gate-1');
    expect(agent?.state).toBe('online');
    expect(agent?.health?.detectors[0]?.detections).toBe(57);
    // a plain connection sees the same file: nothing lives only in memory
    reopened.close();
    const raw = new BetterSqlite3(path.join(tmp.dir, DB_FILE_NAME), { readonly: true });
    expect((raw.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n).toBe(1);
    raw.close();
  });

  it('pages events newest first with an id cursor, whatever the timestamp precision', () => {
    const db = openDatabase({ dataDir: tmp.dir });
    const events = createEventRepository(db);
    const at = (ms: number): string => new Date(Date.UTC(2025, 8, 1, 7, 30, 0, ms)).toISOString();
    // "…00Z" and "…00.500Z" would sort wrongly as raw text; stored normalised they do not
    const a = makeAccessEvent('s', 'a', { ts: '2025-09-01T07:30:00Z' });
    const b = makeAccessEvent('s', 'a', { ts: at(500) });
    const c = makeCameraEvent('s', 'a', { ts: at(900) });
    const received = new Date().toISOString();
    events.insert('access', a, received);
    events.insert('access', b, received);
    events.insert('camera', c, received);
    const page1 = events.list({ limit: 2 });
    expect(page1.ok && page1.events.map((e) => e.id)).toEqual([c.id, b.id]);
    const page2 = events.list({ limit: 2, before: b.id });
    expect(page2.ok && page2.events.map((e) => e.id)).toEqual([a.id]);
    const access = events.list({ limit: 10, kind: 'access' });
    expect(access.ok && access.events.map((e) => e.id)).toEqual([b.id, a.id]);
    expect(events.list({ limit: 2, before: '0190a0a0-0000-7000-8000-000000000000' })).toEqual({
      ok: false,
      error: 'UNKNOWN_CURSOR',
    });
    db.close();
  });

  it('keeps last_seen when the last will sets an agent offline', () => {
    const db = openDatabase({ dataDir: tmp.dir });
    const agents = createAgentRepository(db);
    const online = agents.applyStatus(makeStatus('s', 'a'), '2025-09-01T07:00:00.000Z');
    expect(online.lastSeen).toBe('2025-09-01T07:00:00.000Z');
    const offline = agents.applyStatus(
      makeStatus('s', 'a', { state: 'offline', reason: 'connection_lost' }),
      '2025-09-01T07:05:00.000Z',
    );
    expect(offline.state).toBe('offline');
    expect(offline.lastSeen).toBe('2025-09-01T07:00:00.000Z');
    expect(offline.updatedAt).toBe('2025-09-01T07:05:00.000Z');
    db.close();
  });
});
