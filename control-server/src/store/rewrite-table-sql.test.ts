import BetterSqlite3, { type Database } from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rewriteTableSql } from './rewrite-table-sql.js';

const TABLE = `CREATE TABLE t (
  id   TEXT PRIMARY KEY,
  doc  TEXT NOT NULL CHECK (json_valid(doc)),
  n    INTEGER NOT NULL DEFAULT 0
) STRICT`;

describe('rewriteTableSql (in-place edit of a CREATE TABLE)', () => {
  let db: Database;
  beforeEach(() => {
    db = new BetterSqlite3(':memory:');
    db.exec(TABLE);
    db.prepare('INSERT INTO t (id, doc) VALUES (?, ?)').run('a', '{"x":1}');
  });
  afterEach(() => db.close());

  const tableSql = (): string =>
    (db.prepare("SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = 't'").get() as { sql: string }).sql;
  const insertInvalid = (id: string): void => {
    db.prepare('INSERT INTO t (id, doc) VALUES (?, ?)').run(id, 'not json');
  };
  const edit = (find: string, replace: string): boolean =>
    db.transaction(() => rewriteTableSql(db, { table: 't', find, replace }))();

  it('removes a CHECK in place, and a second run is a no-op', () => {
    expect(() => insertInvalid('b')).toThrow(/CHECK constraint failed/);
    expect(edit(' CHECK (json_valid(doc))', '')).toBe(true);
    expect(tableSql()).toBe(TABLE.replace(' CHECK (json_valid(doc))', ''));
    insertInvalid('b');
    expect(db.prepare('SELECT id, doc FROM t ORDER BY id').all()).toEqual([
      { id: 'a', doc: '{"x":1}' },
      { id: 'b', doc: 'not json' },
    ]);
    // the other constraints are those of the text: STRICT still refuses a wrong type
    expect(() => db.prepare('INSERT INTO t (id, doc, n) VALUES (?, ?, ?)').run('c', '{}', 'x')).toThrow(/cannot store/);
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    // defensive mode is back on: the schema can no longer be written
    db.pragma('writable_schema = ON');
    expect(() => db.prepare("UPDATE sqlite_schema SET sql = sql WHERE name = 't'").run()).toThrow(
      /may not be modified/,
    );
    db.pragma('writable_schema = OFF');
    expect(edit('doc  TEXT NOT NULL CHECK (json_valid(doc))', 'doc  TEXT NOT NULL')).toBe(false);
  });

  it('refuses, without writing anything, an edit that would change the record format or not parse', () => {
    const before = tableSql();
    const refusals: Array<[string, string, RegExp]> = [
      ['n    INTEGER NOT NULL DEFAULT 0', 'n    INTEGER NOT NULL DEFAULT 0, extra TEXT', /record format/],
      ['id   TEXT PRIMARY KEY', 'id   TEXT', /record format/],
      ['n    INTEGER', 'n    TEXT', /record format/],
      [') STRICT', ')', /record format/],
      [') STRICT', ') STRICT, WITHOUT ROWID', /record format/],
      [' CHECK (json_valid(doc))', ' CHECK (json_valid(doc)', /does not parse/],
      ['TEXT', 'BLOB', /more than once/],
      ['no such text', 'other text', /not in its definition/],
    ];
    for (const [find, replace, why] of refusals) {
      expect(() => edit(find, replace), `${find} -> ${replace}`).toThrow(why);
      expect(tableSql()).toBe(before);
    }
    expect(() => insertInvalid('b')).toThrow(/CHECK constraint failed/);
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
  });

  it('rolls the edit back with the transaction that made it', () => {
    expect(() =>
      db.transaction(() => {
        rewriteTableSql(db, { table: 't', find: ' CHECK (json_valid(doc))', replace: '' });
        throw new Error('a later step of the migration failed');
      })(),
    ).toThrow(/later step/);
    expect(tableSql()).toBe(TABLE);
    expect(() => insertInvalid('b')).toThrow(/CHECK constraint failed/);
  });

  it('must run inside a transaction', () => {
    expect(() => rewriteTableSql(db, { table: 't', find: ' CHECK (json_valid(doc))', replace: '' })).toThrow(
      /inside a transaction/,
    );
    expect(tableSql()).toBe(TABLE);
  });
});
