import type { Database } from 'better-sqlite3';

export interface Migration {
  version: number;
  name: string;
  up: (db: Database) => void;
}

/**
 * Ordered, append-only. A released migration is never edited: add a new one instead.
 * Timestamps are stored as ISO 8601 UTC with milliseconds (`toISOString()`), so text order is time order.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'events and agents',
    up: (db) => {
      db.exec(`
        CREATE TABLE events (
          id          TEXT PRIMARY KEY,          -- UUIDv7 made at the edge: the idempotency key
          kind        TEXT NOT NULL CHECK (kind IN ('access', 'movement', 'camera')),
          site        TEXT NOT NULL,
          agent       TEXT NOT NULL,
          camera      TEXT NOT NULL,
          ts          TEXT NOT NULL,             -- edge time, normalised ISO 8601 UTC
          received_at TEXT NOT NULL,             -- server time of first receipt
          payload     TEXT NOT NULL CHECK (json_valid(payload))
        ) STRICT;
        CREATE INDEX events_ts ON events (ts DESC, id DESC);
        CREATE INDEX events_kind_ts ON events (kind, ts DESC, id DESC);
        CREATE INDEX events_site_agent_ts ON events (site, agent, ts DESC);

        CREATE TABLE agents (
          site        TEXT NOT NULL,
          agent       TEXT NOT NULL,
          state       TEXT NOT NULL CHECK (state IN ('online', 'offline', 'unknown')),
          status      TEXT CHECK (status IS NULL OR json_valid(status)),
          health      TEXT CHECK (health IS NULL OR json_valid(health)),
          last_seen   TEXT,                      -- last message sent by the agent itself (not its last will)
          updated_at  TEXT NOT NULL,
          PRIMARY KEY (site, agent)
        ) STRICT;
      `);
    },
  },
  {
    version: 2,
    name: 'agent configuration state',
    up: (db) => {
      // the retained answer of an agent to its configuration: version in force, or why rejected
      db.exec(
        `ALTER TABLE agents ADD COLUMN config_state TEXT CHECK (config_state IS NULL OR json_valid(config_state));`,
      );
    },
  },
  // 10–19: operators, sessions, audit (the privacy work stream uses 20–29)
  {
    version: 10,
    name: 'operators, roles, sessions, login throttle',
    up: (db) => {
      db.exec(`
        CREATE TABLE users (
          id            INTEGER PRIMARY KEY,
          username      TEXT NOT NULL UNIQUE COLLATE NOCASE,
          password_hash TEXT NOT NULL,          -- PHC string (argon2id); never the password
          disabled      INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
          totp_secret   TEXT,                   -- base32, NULL while no second factor is enrolled
          created_at    TEXT NOT NULL,
          updated_at    TEXT NOT NULL
        ) STRICT;

        -- one row per (role, site); '*' is every site and only regional_it may hold it
        CREATE TABLE user_roles (
          user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
          role    TEXT NOT NULL CHECK (role IN ('reception', 'supervisor', 'site_admin', 'regional_it')),
          site    TEXT NOT NULL CHECK (site <> '*' OR role = 'regional_it'),
          PRIMARY KEY (user_id, role, site)
        ) STRICT;
        CREATE INDEX user_roles_site ON user_roles (site);

        -- the cookie holds a random id; only its sha256 is stored, so a copy of the database opens no session
        CREATE TABLE sessions (
          id_hash      TEXT PRIMARY KEY,
          user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
          csrf_token   TEXT NOT NULL,
          created_at   TEXT NOT NULL,
          last_seen_at TEXT NOT NULL,
          expires_at   TEXT NOT NULL,         -- absolute expiry; idle expiry is last_seen_at + idle timeout
          ip           TEXT,
          user_agent   TEXT
        ) STRICT;
        CREATE INDEX sessions_user ON sessions (user_id);

        -- failed logins per username (known or not, so a lockout does not reveal which names exist)
        CREATE TABLE login_throttle (
          username         TEXT PRIMARY KEY COLLATE NOCASE,
          failures         INTEGER NOT NULL,
          last_failure_at  TEXT NOT NULL,
          locked_until     TEXT
        ) STRICT;
      `);
    },
  },
  {
    version: 11,
    name: 'hash-chained audit log',
    up: (db) => {
      db.exec(`
        CREATE TABLE audit_log (
          seq        INTEGER PRIMARY KEY,       -- 1, 2, 3 … without gaps; verification checks it
          ts         TEXT NOT NULL,
          actor      TEXT NOT NULL,             -- username, or 'system' / 'cli:<os user>' / 'anonymous'
          role       TEXT,                      -- roles the actor used, comma-separated
          site       TEXT,                      -- site concerned, '*' for all, NULL when none
          action     TEXT NOT NULL,             -- e.g. 'auth.login', 'events.read', 'user.create'
          target     TEXT,                      -- what was read or changed (ids, never names)
          outcome    TEXT NOT NULL,             -- 'ok', 'denied', 'failed'
          ip         TEXT,
          details    TEXT NOT NULL CHECK (json_valid(details)),
          prev_hash  TEXT NOT NULL,
          hash       TEXT NOT NULL UNIQUE       -- sha256(prev_hash || canonical row), hex
        ) STRICT;
        CREATE INDEX audit_log_site_ts ON audit_log (site, ts);
        -- append-only for every writer that goes through SQLite; a file-level edit is what verification catches
        CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
          BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
        CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
          BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
      `);
    },
  },
];
