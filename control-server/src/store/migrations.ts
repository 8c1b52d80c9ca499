import type { Database } from 'better-sqlite3';
import { rewriteTableSql } from './rewrite-table-sql.js';

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
  // 20–29: people (registry, consent, credentials, encrypted templates, receipts, visitors)
  {
    version: 20,
    name: 'people: students, consent, credentials, templates, receipts, visitors',
    up: (db) => {
      db.exec(`
        -- per site: the numeric code in every credential token, the sync version agents follow,
        -- and the people settings (JSON checked by people/people-sites.ts)
        CREATE TABLE people_sites (
          site         TEXT PRIMARY KEY,
          site_code    INTEGER NOT NULL UNIQUE CHECK (site_code BETWEEN 1 AND 65535),
          sync_version INTEGER NOT NULL DEFAULT 0,
          settings     TEXT NOT NULL CHECK (json_valid(settings)),
          created_at   TEXT NOT NULL,
          updated_at   TEXT NOT NULL
        ) STRICT;

        -- from the school's registry export; departed students are kept (status), never silently deleted
        CREATE TABLE students (
          id             INTEGER PRIMARY KEY,
          site           TEXT NOT NULL REFERENCES people_sites (site),
          external_id    TEXT NOT NULL,
          last_name      TEXT NOT NULL,
          first_name     TEXT NOT NULL,
          class_name     TEXT NOT NULL,
          birth_date     TEXT NOT NULL,            -- YYYY-MM-DD
          guardian_count INTEGER NOT NULL DEFAULT 2 CHECK (guardian_count BETWEEN 0 AND 2),
          status         TEXT NOT NULL CHECK (status IN ('active', 'departed')),
          created_at     TEXT NOT NULL,
          updated_at     TEXT NOT NULL,
          departed_at    TEXT,
          UNIQUE (site, external_id)
        ) STRICT;
        CREATE INDEX students_site_status ON students (site, status);

        -- append-only history: the state of a party is its latest row
        CREATE TABLE consent_records (
          id             INTEGER PRIMARY KEY,
          student_id     INTEGER NOT NULL REFERENCES students (id) ON DELETE CASCADE,
          purpose        TEXT NOT NULL CHECK (purpose IN ('biometrics')),
          party          TEXT NOT NULL CHECK (party IN ('student', 'guardian1', 'guardian2')),
          action         TEXT NOT NULL CHECK (action IN ('grant', 'refuse', 'withdraw')),
          channel        TEXT NOT NULL,
          notice_version TEXT NOT NULL,
          effective_at   TEXT NOT NULL,          -- the date on the form
          recorded_at    TEXT NOT NULL,
          recorded_by    TEXT NOT NULL
        ) STRICT;
        CREATE INDEX consent_records_student ON consent_records (student_id, purpose, party, id);
        CREATE TRIGGER consent_records_no_update BEFORE UPDATE ON consent_records
          BEGIN SELECT RAISE(ABORT, 'consent_records is append-only'); END;

        CREATE TABLE visitors (
          id                 INTEGER PRIMARY KEY,
          site               TEXT NOT NULL REFERENCES people_sites (site),
          last_name          TEXT NOT NULL,
          first_name         TEXT NOT NULL,
          purpose            TEXT NOT NULL,
          host               TEXT NOT NULL,
          id_document_type   TEXT NOT NULL,
          id_document_number TEXT,               -- only where the site allows it
          id_checked_by      TEXT NOT NULL,
          visit_day          TEXT NOT NULL,      -- YYYY-MM-DD, site time
          registered_at      TEXT NOT NULL,
          retain_until       TEXT NOT NULL       -- YYYY-MM-DD: purged after
        ) STRICT;
        CREATE INDEX visitors_retain ON visitors (retain_until);

        -- no token and no template key here: those exist only in the holder's QR code
        CREATE TABLE credentials (
          id              TEXT PRIMARY KEY,      -- 'c' + 8 base32 characters (40 random bits)
          site            TEXT NOT NULL REFERENCES people_sites (site),
          holder_kind     TEXT NOT NULL CHECK (holder_kind IN ('student', 'visitor')),
          student_id      INTEGER REFERENCES students (id) ON DELETE SET NULL,
          visitor_id      INTEGER REFERENCES visitors (id) ON DELETE SET NULL,
          biometric       INTEGER NOT NULL CHECK (biometric IN (0, 1)),
          key_id          INTEGER NOT NULL CHECK (key_id BETWEEN 0 AND 15),
          last_valid_day  INTEGER NOT NULL,      -- token day number (days since 2024-01-01 UTC)
          valid_until     TEXT NOT NULL,         -- the same day, YYYY-MM-DD
          issued_at       TEXT NOT NULL,
          issued_by       TEXT NOT NULL,
          revoked_at      TEXT,
          revoked_reason  TEXT,
          revoked_by      TEXT,
          revoked_version INTEGER,               -- site sync version that carried the revocation
          replaced_by     TEXT,
          CHECK ((revoked_at IS NULL) = (revoked_version IS NULL))
        ) STRICT;
        CREATE INDEX credentials_student_live ON credentials (student_id) WHERE revoked_at IS NULL;
        CREATE INDEX credentials_site_revoked ON credentials (site, revoked_version) WHERE revoked_at IS NOT NULL;

        -- AES-256-GCM ciphertexts under the key only the credential carries (the edge stores the same)
        CREATE TABLE templates (
          credential_id TEXT PRIMARY KEY REFERENCES credentials (id),
          site          TEXT NOT NULL,
          model_id      TEXT NOT NULL,
          model_sha256  TEXT NOT NULL,
          encoding      TEXT NOT NULL CHECK (encoding IN ('f32', 'i8')),
          iv            BLOB NOT NULL CHECK (length(iv) = 12),
          ciphertext    BLOB NOT NULL,
          tag           BLOB NOT NULL CHECK (length(tag) = 16),
          created_at    TEXT NOT NULL,
          sync_version  INTEGER NOT NULL
        ) STRICT;
        CREATE INDEX templates_site_version ON templates (site, sync_version);

        -- only when a site opts in to keep ID photos: encrypted with a server key, own retention
        CREATE TABLE id_photos (
          student_id   INTEGER PRIMARY KEY REFERENCES students (id),
          site         TEXT NOT NULL,
          key_id       TEXT NOT NULL,
          iv           BLOB NOT NULL,
          ciphertext   BLOB NOT NULL,
          tag          BLOB NOT NULL,
          created_at   TEXT NOT NULL,
          retain_until TEXT NOT NULL
        ) STRICT;

        -- what was deleted, when, why and by whom; ids only, never a name
        CREATE TABLE deletion_receipts (
          id      INTEGER PRIMARY KEY,
          site    TEXT NOT NULL,
          subject TEXT NOT NULL,                 -- 'student:<id>' or 'visitor:<id>'
          what    TEXT NOT NULL CHECK (json_valid(what)),
          reason  TEXT NOT NULL,
          actor   TEXT NOT NULL,                 -- username, 'cli:<os user>' or 'system'
          at      TEXT NOT NULL
        ) STRICT;
        CREATE INDEX deletion_receipts_site ON deletion_receipts (site, id);
        CREATE TRIGGER deletion_receipts_no_update BEFORE UPDATE ON deletion_receipts
          BEGIN SELECT RAISE(ABORT, 'deletion_receipts is append-only'); END;
        CREATE TRIGGER deletion_receipts_no_delete BEFORE DELETE ON deletion_receipts
          BEGIN SELECT RAISE(ABORT, 'deletion_receipts is append-only'); END;
      `);
    },
  },
  // 30–39: site sync to the agents (people/sync-publisher.ts)
  {
    version: 30,
    name: 'site sync: agent acknowledgements, publications',
    up: (db) => {
      db.exec(`
        -- the retained answer of an agent to its site's sync: the version it holds, or why it refused one
        ALTER TABLE agents ADD COLUMN sync_state TEXT CHECK (sync_state IS NULL OR json_valid(sync_state));

        -- what the server last published on portail/v1/{site}/sync/...: the signing keys it carried
        -- (a change of keys raises the site's sync version, so agents acknowledge it) and how many
        -- template chunks are retained (chunks beyond a shrunk count are cleared)
        CREATE TABLE sync_publications (
          site         TEXT PRIMARY KEY,
          keys_digest  TEXT NOT NULL,
          version      INTEGER NOT NULL,
          chunk_count  INTEGER NOT NULL,
          published_at TEXT                       -- NULL until the broker acknowledged a publication
        ) STRICT;
      `);
    },
  },
  // 40–49: privacy (retention policies, pilots, audit-log retention checkpoints)
  {
    version: 40,
    name: 'privacy: retention policies, register information, pilots, audit log checkpoints',
    up: (db) => {
      db.exec(`
        -- per site: the retention policy and what the register needs beyond the live configuration
        -- (JSON checked by privacy/retention-policy.ts and privacy/register-info.ts); the row '*' holds
        -- the server-wide values (the audit log is one chain for every site)
        CREATE TABLE privacy_sites (
          site          TEXT PRIMARY KEY,
          retention     TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(retention)),
          register_info TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(register_info)),
          updated_at    TEXT NOT NULL,
          updated_by    TEXT NOT NULL
        ) STRICT;

        -- a time-boxed biometric pilot: at the end its site's biometric data is erased and a summary kept
        CREATE TABLE pilots (
          id          INTEGER PRIMARY KEY,
          site        TEXT NOT NULL,
          starts_on   TEXT NOT NULL,             -- YYYY-MM-DD, site time
          ends_on     TEXT NOT NULL,             -- last day of the pilot, site time
          criteria    TEXT NOT NULL CHECK (json_valid(criteria)),
          declared_by TEXT NOT NULL,
          declared_at TEXT NOT NULL,
          updated_at  TEXT NOT NULL,
          ended_at    TEXT,                      -- when the end was carried out
          summary     TEXT CHECK (summary IS NULL OR json_valid(summary)),
          erasure     TEXT CHECK (erasure IS NULL OR json_valid(erasure)),
          CHECK (starts_on <= ends_on)
        ) STRICT;
        CREATE UNIQUE INDEX pilots_one_open ON pilots (site) WHERE ended_at IS NULL;

        -- retention of the audit log: rows 1..upto_seq were removed; upto_hash (the hash of row
        -- upto_seq) is where verification of what remains starts. Append-only.
        CREATE TABLE audit_log_checkpoints (
          id            INTEGER PRIMARY KEY,
          upto_seq      INTEGER NOT NULL UNIQUE,
          upto_hash     TEXT NOT NULL,
          rows_removed  INTEGER NOT NULL,
          cutoff        TEXT NOT NULL,           -- rows older than this were due
          created_at    TEXT NOT NULL,
          actor         TEXT NOT NULL
        ) STRICT;
        CREATE TRIGGER audit_log_checkpoints_no_update BEFORE UPDATE ON audit_log_checkpoints
          BEGIN SELECT RAISE(ABORT, 'audit_log_checkpoints is append-only'); END;
        CREATE TRIGGER audit_log_checkpoints_no_delete BEFORE DELETE ON audit_log_checkpoints
          BEGIN SELECT RAISE(ABORT, 'audit_log_checkpoints is append-only'); END;

        -- the audit log stays append-only, except for the rows a checkpoint already covers
        DROP TRIGGER audit_log_no_delete;
        CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
          WHEN OLD.seq > coalesce((SELECT max(upto_seq) FROM audit_log_checkpoints), 0)
          BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;

        -- the purge deletes a site's events of one kind by edge time, then by server time: each pass
        -- is a range scan that stops after a batch, whatever other sites keep
        CREATE INDEX events_site_kind_ts ON events (site, kind, ts);
        CREATE INDEX events_site_kind_received_at ON events (site, kind, received_at);
      `);
    },
  },
  // 60–69: cameras (registry with encrypted source URLs)
  {
    version: 60,
    name: 'cameras: registry per site/agent/camera, source URL encrypted at rest',
    up: (db) => {
      db.exec(`
        -- what the site declares about each camera (cameras/camera-registry.ts). The source URL carries
        -- the camera's password: only its AES-256-GCM ciphertext is stored (key file <dataDir>/keys/camera-url.key,
        -- associated data site|agent|camera), plus the redacted form shown to admins.
        CREATE TABLE cameras (
          site             TEXT NOT NULL,
          agent            TEXT NOT NULL,
          camera           TEXT NOT NULL,
          name             TEXT NOT NULL,
          role             TEXT NOT NULL CHECK (role IN ('gate', 'tracking')),
          location_type    TEXT NOT NULL,
          tracking_enabled INTEGER NOT NULL CHECK (tracking_enabled IN (0, 1)),
          url_redacted     TEXT,
          url_key_id       TEXT,
          url_iv           BLOB,
          url_ciphertext   BLOB,
          url_tag          BLOB,
          created_at       TEXT NOT NULL,
          updated_at       TEXT NOT NULL,
          updated_by       TEXT NOT NULL,
          PRIMARY KEY (site, agent, camera),
          CHECK ((url_ciphertext IS NULL) = (url_redacted IS NULL))
        ) STRICT;
      `);
    },
  },
  // 70–79: operators' second factor recovery codes, OIDC identities
  {
    version: 70,
    name: 'auth: TOTP recovery codes and replay guard, OIDC identities, operator e-mail',
    up: (db) => {
      db.exec(`
        -- single-use codes for a lost authenticator; only a SHA-256 of each (80 random bits) is kept
        CREATE TABLE user_recovery_codes (
          id         INTEGER PRIMARY KEY,
          user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
          code_hash  TEXT NOT NULL,
          created_at TEXT NOT NULL,
          used_at    TEXT
        ) STRICT;
        CREATE INDEX user_recovery_codes_user ON user_recovery_codes (user_id);

        -- an OpenID Connect identity (issuer + subject) linked to a local account
        CREATE TABLE user_identities (
          issuer        TEXT NOT NULL,
          subject       TEXT NOT NULL,
          user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
          created_at    TEXT NOT NULL,
          last_login_at TEXT,
          PRIMARY KEY (issuer, subject)
        ) STRICT;
        CREATE INDEX user_identities_user ON user_identities (user_id);

        -- the address an identity provider asserts, to link pre-created accounts by e-mail
        ALTER TABLE users ADD COLUMN email TEXT COLLATE NOCASE;
        CREATE UNIQUE INDEX users_email ON users (email) WHERE email IS NOT NULL;
        -- the last TOTP time step accepted: a code is refused the second time within its window
        ALTER TABLE users ADD COLUMN totp_last_step INTEGER;
      `);
    },
  },
  // 80–89: the gate view (gate/): acknowledgements and manual overrides of passages
  {
    version: 80,
    name: 'gate: passage acknowledgements and manual overrides',
    up: (db) => {
      db.exec(`
        -- what reception did about a passage: acknowledged it (with an optional note) or overrode its
        -- verdict (with a required reason). Tied to the access event: when the retention purge deletes
        -- the event, its actions go with it (the audit log keeps who did what).
        CREATE TABLE gate_passage_actions (
          id        INTEGER PRIMARY KEY,
          event_id  TEXT NOT NULL REFERENCES events (id) ON DELETE CASCADE,
          site      TEXT NOT NULL,
          action    TEXT NOT NULL CHECK (action IN ('ack', 'override')),
          decision  TEXT CHECK (decision IS NULL OR decision IN ('allow', 'deny')),
          note      TEXT,                       -- ack: optional note; override: the reason (required)
          actor     TEXT NOT NULL,
          at        TEXT NOT NULL,
          CHECK ((action = 'override') = (decision IS NOT NULL AND note IS NOT NULL))
        ) STRICT;
        CREATE UNIQUE INDEX gate_passage_actions_one_ack ON gate_passage_actions (event_id) WHERE action = 'ack';
        CREATE INDEX gate_passage_actions_event ON gate_passage_actions (event_id, id);
        CREATE INDEX gate_passage_actions_site_at ON gate_passage_actions (site, at);
      `);
    },
  },
  // 90–99: the live view's alert queue (alerts/)
  {
    version: 90,
    name: 'alert acknowledgements',
    up: (db) => {
      db.exec(`
        -- who acknowledged which alert of the supervisors' queue, when, with an optional note. An alert
        -- is an event (its id) or an offline period (\`agent-offline.{agent}.{sinceMs}\`); the ack keeps
        -- its own copy of site/agent/camera so it stays readable after the event is purged.
        CREATE TABLE alert_acks (
          alert_id   TEXT PRIMARY KEY,
          site       TEXT NOT NULL,
          kind       TEXT NOT NULL,
          agent      TEXT NOT NULL,
          camera     TEXT,
          alert_ts   TEXT NOT NULL,              -- the alert's time (event edge time, or offline since)
          acked_at   TEXT NOT NULL,
          acked_by   TEXT NOT NULL,              -- operator username (audit actor)
          note       TEXT CHECK (note IS NULL OR length(note) <= 500)
        ) STRICT;
        CREATE INDEX alert_acks_site_acked_at ON alert_acks (site, acked_at);
      `);
    },
  },
  // 100–109: sites and the agents' configuration (agent-config/)
  {
    version: 100,
    name: 'sites and versioned agent configurations',
    up: (db) => {
      db.exec(`
        -- what regional IT declares about a site: its display name, time zone and settings (JSON
        -- checked by agent-config/site-directory.ts); a site also exists implicitly through its agents
        CREATE TABLE sites (
          site       TEXT PRIMARY KEY,
          name       TEXT NOT NULL,
          time_zone  TEXT NOT NULL,
          settings   TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(settings)),
          created_at TEXT NOT NULL,
          created_by TEXT NOT NULL,
          updated_at TEXT NOT NULL,
          updated_by TEXT NOT NULL
        ) STRICT;

        -- every version of each agent's configuration (the retained config topic), append-only: the
        -- highest version is the one in force; 'imported' rows were found on the broker, not made here
        CREATE TABLE agent_configs (
          site       TEXT NOT NULL,
          agent      TEXT NOT NULL,
          version    INTEGER NOT NULL CHECK (version >= 0),
          body       TEXT NOT NULL CHECK (json_valid(body)),   -- { cameras, thresholds }
          source     TEXT NOT NULL CHECK (source IN ('console', 'imported')),
          created_by TEXT NOT NULL,
          created_at TEXT NOT NULL,
          PRIMARY KEY (site, agent, version)
        ) STRICT;
        CREATE TRIGGER agent_configs_no_update BEFORE UPDATE ON agent_configs
          BEGIN SELECT RAISE(ABORT, 'agent_configs is append-only'); END;
      `);
    },
  },
  {
    version: 110,
    name: 'mqtt accounts: per-agent and server broker credentials, revocation',
    up: (db) => {
      db.exec(`
        -- the site broker's accounts (embedded aedes checks them at every CONNECT; portail-admin mqtt
        -- export writes Mosquitto's password_file and acl_file from them). The hash is Mosquitto's
        -- $7$ PBKDF2-SHA512 form (mqtt/acl-password.ts says why). A revoked row is kept for the record;
        -- one active row per username and per agent client id.
        CREATE TABLE mqtt_accounts (
          id               INTEGER PRIMARY KEY,
          username         TEXT NOT NULL,
          kind             TEXT NOT NULL CHECK (kind IN ('agent', 'server')),
          site             TEXT,
          agent            TEXT,
          client_id        TEXT,                  -- agents: the only client id the account may use
          password_hash    TEXT NOT NULL,
          cert_fingerprint TEXT,                  -- sha256 of the client certificate issued with it, if any
          created_at       TEXT NOT NULL,
          created_by       TEXT NOT NULL,
          revoked_at       TEXT,
          revoked_by       TEXT,
          CHECK ((kind = 'agent') = (site IS NOT NULL AND agent IS NOT NULL AND client_id IS NOT NULL)),
          CHECK ((revoked_at IS NULL) = (revoked_by IS NULL))
        ) STRICT;
        CREATE UNIQUE INDEX mqtt_accounts_active_username ON mqtt_accounts (username) WHERE revoked_at IS NULL;
        CREATE UNIQUE INDEX mqtt_accounts_active_client_id ON mqtt_accounts (client_id)
          WHERE revoked_at IS NULL AND client_id IS NOT NULL;
      `);
    },
  },
  {
    version: 120,
    name: 'events: drop the (site, agent, ts) index no query uses',
    up: (db) => {
      // every index is one more B-tree written per ingested event (issue #9: ~10 000 events/s). No
      // query filters events by agent; by EXPLAIN QUERY PLAN the listing, alerts, statistics, gate,
      // fleet, register, export and purge queries use the same plans without it
      // (store/events-indexes.test.ts keeps that checked).
      db.exec('DROP INDEX IF EXISTS events_site_agent_ts;');
    },
  },
  {
    version: 130,
    name: 'events: drop the json_valid CHECK on payload, in place',
    up: (db) => {
      // SQLite parsed every payload again on insert (~6 µs per event at 10 000 events/s, issue #9).
      // The column is written only as JSON.stringify of a payload the ingest validated against the
      // protocol schema (repositories/event-repository.ts): valid JSON by construction. A table
      // rebuild would copy millions of rows and, by DROP TABLE, fire the ON DELETE CASCADE of
      // gate_passage_actions; the documented in-place edit of the CREATE TABLE text does neither.
      rewriteTableSql(db, {
        table: 'events',
        find: 'payload     TEXT NOT NULL CHECK (json_valid(payload))',
        replace: 'payload     TEXT NOT NULL',
      });
    },
  },
];
