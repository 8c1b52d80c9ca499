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
      db.exec(`ALTER TABLE agents ADD COLUMN config_state TEXT CHECK (config_state IS NULL OR json_valid(config_state));`);
    },
  },
];
