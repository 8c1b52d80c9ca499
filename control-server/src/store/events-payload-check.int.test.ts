/**
 * Migration 130 removes `CHECK (json_valid(payload))` from `events` by editing the table's CREATE
 * TABLE text in place: no row is copied, the table is never dropped (a DROP would fire the ON DELETE
 * CASCADE of gate_passage_actions), and the result must be a table SQLite reads exactly as before,
 * without the check.
 */
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createEventRepository } from '../repositories/event-repository.js';
import { makeAccessEvent, makeCameraEvent, makeMovementEvent, makeTempDir } from '../test-support/fixtures.js';
import { currentSchemaVersion, DB_FILE_NAME, migrate, openDatabase } from './database.js';
import { MIGRATIONS } from './migrations.js';

const UP_TO_120 = MIGRATIONS.filter((m) => m.version <= 120);
const CHECK = ' CHECK (json_valid(payload))';

describe('migration 130: events.payload without the json_valid CHECK, in place', () => {
  let tmp: ReturnType<typeof makeTempDir>;
  beforeEach(() => {
    tmp = makeTempDir();
  });
  afterEach(() => tmp.remove());

  it('keeps every row, the references to them and the table definition but for the CHECK', () => {
    const db = openDatabase({ dataDir: tmp.dir, migrations: UP_TO_120 });
    expect(currentSchemaVersion(db)).toBe(120);
    const events = createEventRepository(db);
    const at = '2026-11-22T07:55:00.000Z';
    const ids: string[] = [];
    for (let i = 0; i < 300; i++) {
      const site = `lycee-${i % 7}`;
      const e =
        i % 3 === 0
          ? events.insert('access', makeAccessEvent(site, 'gate-1', { passageId: `p-${i} "é" \\ \n` }), at)
          : i % 3 === 1
            ? events.insert('movement', makeMovementEvent(site, 'hall-1'), at)
            : events.insert('camera', makeCameraEvent(site, 'gate-1'), at);
      expect(e.inserted).toBe(true);
      ids.push(e.event.id);
    }
    // reception's acknowledgements and overrides reference events (ON DELETE CASCADE)
    const ack = db.prepare(
      "INSERT INTO gate_passage_actions (event_id, site, action, note, actor, at) VALUES (?, ?, 'ack', ?, 'reception1', ?)",
    );
    const override = db.prepare(
      "INSERT INTO gate_passage_actions (event_id, site, action, decision, note, actor, at) VALUES (?, ?, 'override', 'allow', 'badge forgotten', 'reception1', ?)",
    );
    for (let i = 0; i < 300; i += 3) {
      const site = `lycee-${i % 7}`;
      ack.run(ids[i]!, site, i % 2 === 0 ? 'seen' : null, at);
      if (i % 9 === 0) override.run(ids[i]!, site, at);
    }
    // before: SQLite itself refuses a payload that is not JSON
    const rawInsert = db.prepare(
      'INSERT INTO events (id, kind, site, agent, camera, ts, received_at, payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    );
    expect(() => rawInsert.run('x-1', 'access', 's', 'a', 'c', at, at, 'not json')).toThrow(
      /CHECK constraint failed: json_valid\(payload\)/,
    );

    const before = snapshot(db);
    const sqlBefore = eventsSql(db);
    expect(sqlBefore).toContain(CHECK);
    expect(before.events).toHaveLength(300);
    expect(before.actions.length).toBeGreaterThan(100);
    db.close();

    // another connection holding the old schema (a reader, the checkpoint worker) while the server migrates
    const other = new BetterSqlite3(path.join(tmp.dir, DB_FILE_NAME));
    other.pragma('foreign_keys = ON');
    expect(eventsSql(other)).toContain(CHECK);

    const migrated = openDatabase({ dataDir: tmp.dir });
    try {
      expect(currentSchemaVersion(migrated)).toBeGreaterThanOrEqual(130);
      expect(migrated.prepare('SELECT version FROM schema_migrations WHERE version = 130').get()).toEqual({
        version: 130,
      });
      // every row, every reference, every index as before; only the events table's text differs
      expect(snapshot(migrated)).toEqual(before);
      expect(eventsSql(migrated)).toBe(sqlBefore.replace(CHECK, ''));
      expect(eventsSql(migrated)).not.toMatch(/json_valid/);
      expect(eventsSql(migrated)).toMatch(/^CREATE TABLE events \(\s+id\s+TEXT PRIMARY KEY,[\s\S]*\) STRICT$/);
      expect(migrated.pragma('integrity_check', { simple: true })).toBe('ok');
      expect(migrated.pragma('foreign_key_check')).toEqual([]);

      // SQLite no longer parses payloads: what is stored is the ingest's (schema-validated) JSON
      const rawInsert = migrated.prepare(
        'INSERT INTO events (id, kind, site, agent, camera, ts, received_at, payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      );
      rawInsert.run('x-1', 'access', 's', 'a', 'c', at, at, 'not json');
      // the connection opened before the migration reloads the schema (schema_version was bumped)
      expect(eventsSql(other)).toBe(eventsSql(migrated));
      other
        .prepare(
          'INSERT INTO events (id, kind, site, agent, camera, ts, received_at, payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
        )
        .run('x-2', 'camera', 's', 'a', 'c', at, at, '{');
      expect(
        migrated.prepare("SELECT payload FROM events WHERE id IN ('x-1', 'x-2') ORDER BY id").pluck().all(),
      ).toEqual(['not json', '{']);
      // the other checks are still there
      expect(() => rawInsert.run('x-3', 'other', 's', 'a', 'c', at, at, '{}')).toThrow(/CHECK constraint failed/);
      expect(() => rawInsert.run('x-4', 'access', 's', 'a', 'c', at, at, null)).toThrow(/NOT NULL/);
      expect(() => rawInsert.run(ids[0]!, 'access', 's', 'a', 'c', at, at, '{}')).toThrow(/UNIQUE/);

      // the foreign key still holds and still cascades
      const gone = ids[0]!;
      const actionsOf = migrated.prepare('SELECT count(*) FROM gate_passage_actions WHERE event_id = ?').pluck();
      expect(actionsOf.get(gone)).toBe(2);
      migrated.prepare('DELETE FROM events WHERE id = ?').run(gone);
      expect(actionsOf.get(gone)).toBe(0);
      expect(() =>
        migrated
          .prepare(
            "INSERT INTO gate_passage_actions (event_id, site, action, actor, at) VALUES ('nope', 's', 'ack', 'r', ?)",
          )
          .run(at),
      ).toThrow(/FOREIGN KEY/);

      // the repository works on the migrated table, and the migration does not run twice
      const events = createEventRepository(migrated);
      const later = events.insert('movement', makeMovementEvent('lycee-1', 'hall-1'), at);
      expect(later.inserted).toBe(true);
      expect(events.list({ limit: 1, kind: 'movement' })).toMatchObject({ ok: true });
      expect(migrate(migrated, MIGRATIONS)).toEqual([]);
      expect(migrated.pragma('integrity_check', { simple: true })).toBe('ok');
    } finally {
      other.close();
      migrated.close();
    }
  });

  it('creates a new database without the CHECK', () => {
    const db = openDatabase({ dataDir: tmp.dir });
    try {
      expect(eventsSql(db)).not.toMatch(/json_valid/);
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    } finally {
      db.close();
    }
  });
});

function eventsSql(d: BetterSqlite3.Database): string {
  return (d.prepare("SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = 'events'").get() as { sql: string })
    .sql;
}

/** Everything a reader of the database could see, but the events table's own CREATE TABLE text. */
function snapshot(d: BetterSqlite3.Database): { events: unknown[]; actions: unknown[]; [what: string]: unknown } {
  return {
    events: d.prepare('SELECT rowid, * FROM events ORDER BY rowid').all(),
    actions: d.prepare('SELECT * FROM gate_passage_actions ORDER BY id').all(),
    schema: d
      .prepare(
        "SELECT type, name, tbl_name, sql FROM sqlite_schema WHERE NOT (type = 'table' AND name = 'events') AND name <> 'schema_migrations' ORDER BY name",
      )
      .all(),
    columns: d.prepare('SELECT * FROM pragma_table_xinfo(?)').all('events'),
    table: d.prepare("SELECT * FROM pragma_table_list WHERE schema = 'main' AND name = 'events'").get(),
    indexes: d.prepare('SELECT * FROM pragma_index_list(?) ORDER BY name').all('events'),
    foreignKeys: d.prepare('SELECT * FROM pragma_foreign_key_list(?)').all('gate_passage_actions'),
  };
}
