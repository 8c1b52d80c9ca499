import BetterSqlite3, { type Database } from 'better-sqlite3';
import { ControlServerError } from '../infra/errors.js';

export interface RewriteTableSqlOptions {
  table: string;
  /** exact text of the table's `CREATE TABLE` statement to replace; it must occur exactly once */
  find: string;
  replace: string;
}

/** What SQLite derives from a table's definition and must not change under an in-place edit. */
interface TableShape {
  columns: unknown[];
  strict: boolean;
  withoutRowid: boolean;
}

function shapeOf(db: Database, table: string): TableShape {
  const list = db
    .prepare('SELECT strict, wr FROM pragma_table_list WHERE schema = ? AND name = ?')
    .get('main', table) as { strict: number; wr: number } | undefined;
  if (!list) throw new ControlServerError('SERVER_ERR_SCHEMA_EDIT', `no table ${table}`);
  // name, declared type, NOT NULL, default, position in the primary key, hidden: the record format
  const columns = db
    .prepare('SELECT cid, name, type, "notnull", dflt_value, pk, hidden FROM pragma_table_xinfo(?)')
    .all(table);
  return { columns, strict: list.strict === 1, withoutRowid: list.wr === 1 };
}

/**
 * Edit a table's `CREATE TABLE` text in place, by SQLite's documented procedure for changes that leave
 * the stored records as they are (removing a CHECK, FOREIGN KEY or NOT NULL constraint, changing a
 * default: https://www.sqlite.org/lang_altertable.html, "Making Other Kinds Of Table Schema
 * Changes"). No row is copied and the table is never dropped, so a table of millions of rows changes
 * in milliseconds (32 ms for 500 000 events) and the ON DELETE CASCADE of the tables referencing it
 * never fires.
 *
 * Must run inside a transaction (the migration runner's): a failure anywhere rolls the schema back.
 * The connection leaves better-sqlite3's defensive mode only for the edit (`PRAGMA writable_schema`
 * and writing `schema_version` are refused in it) and returns to it afterwards.
 *
 * Returns false when `find` is absent and `replace` already present (already edited), true once edited.
 * Refuses (throws SERVER_ERR_SCHEMA_EDIT, nothing written) when the text occurs more than once, when
 * the edited statement does not parse, or when it would change the columns, primary key, STRICT or
 * WITHOUT ROWID: those change the record format, which this procedure must never do.
 */
export function rewriteTableSql(db: Database, opts: RewriteTableSqlOptions): boolean {
  if (!db.inTransaction) {
    throw new ControlServerError('SERVER_ERR_SCHEMA_EDIT', 'rewriteTableSql must run inside a transaction');
  }
  const { table, find, replace } = opts;
  const row = db.prepare("SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = ?").get(table) as
    { sql: string } | undefined;
  if (!row) throw new ControlServerError('SERVER_ERR_SCHEMA_EDIT', `no table ${table}`);
  const first = row.sql.indexOf(find);
  if (first < 0) {
    if (row.sql.includes(replace)) return false;
    throw new ControlServerError('SERVER_ERR_SCHEMA_EDIT', `${table}: the text to replace is not in its definition`);
  }
  if (row.sql.indexOf(find, first + 1) >= 0) {
    throw new ControlServerError('SERVER_ERR_SCHEMA_EDIT', `${table}: the text to replace occurs more than once`);
  }
  const sql = row.sql.slice(0, first) + replace + row.sql.slice(first + find.length);

  // parse the new text on a scratch in-memory database first: a syntax error written into
  // sqlite_schema would make the file unreadable, and a changed column list would misread every row
  const before = shapeOf(db, table);
  const scratch = new BetterSqlite3(':memory:');
  let parsed: TableShape;
  try {
    scratch.exec(sql);
    parsed = shapeOf(scratch, table);
  } catch (err) {
    throw new ControlServerError('SERVER_ERR_SCHEMA_EDIT', `${table}: the edited definition does not parse`, {
      cause: err,
    });
  } finally {
    scratch.close();
  }
  if (JSON.stringify(parsed) !== JSON.stringify(before)) {
    throw new ControlServerError('SERVER_ERR_SCHEMA_EDIT', `${table}: the edit would change the record format`);
  }

  const version = db.pragma('schema_version', { simple: true }) as number;
  db.unsafeMode(true);
  try {
    db.pragma('writable_schema = ON');
    try {
      db.prepare("UPDATE sqlite_schema SET sql = ? WHERE type = 'table' AND name = ?").run(sql, table);
      // a new schema version makes every connection (this one included) reload the schema
      db.pragma(`schema_version = ${version + 1}`);
    } finally {
      db.pragma('writable_schema = OFF');
    }
  } finally {
    db.unsafeMode(false);
  }

  // the reloaded schema must read back as parsed; a throw here rolls the edit back with the transaction
  const after = shapeOf(db, table);
  if (JSON.stringify(after) !== JSON.stringify(before)) {
    throw new ControlServerError('SERVER_ERR_SCHEMA_EDIT', `${table}: the schema read back differs after the edit`);
  }
  // the sqlite_schema B-tree is the only one written: check it (the whole-file check reads every
  // table and index, ~7.5 s per million events on this VM, for pages the edit did not touch)
  const check = db.pragma('integrity_check(sqlite_schema)', { simple: true });
  if (check !== 'ok') {
    throw new ControlServerError(
      'SERVER_ERR_SCHEMA_EDIT',
      `${table}: integrity check after the edit: ${String(check)}`,
    );
  }
  return true;
}
