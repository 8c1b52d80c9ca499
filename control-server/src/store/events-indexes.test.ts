/**
 * Migration 120 drops `events_site_agent_ts` (one B-tree fewer per ingested event). The queries run
 * on `events` (listing, alerts, statistics, gate, fleet, register, export, purge, live resume) must
 * keep the plans they had with it: the index served none of them.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTempDir } from '../test-support/fixtures.js';
import { migrate, openDatabase } from './database.js';
import { MIGRATIONS } from './migrations.js';

const QUERIES: Record<string, string> = {
  latest: 'SELECT * FROM events ORDER BY ts DESC, id DESC LIMIT 50',
  latestKind: "SELECT * FROM events WHERE kind = 'access' ORDER BY ts DESC, id DESC LIMIT 50",
  before: "SELECT * FROM events WHERE (ts, id) < ('a', 'b') ORDER BY ts DESC, id DESC LIMIT 50",
  beforeKind: "SELECT * FROM events WHERE kind = 'movement' AND (ts, id) < ('a', 'b') ORDER BY ts DESC, id DESC LIMIT 50",
  scoped:
    "SELECT * FROM events WHERE ((kind = 'access' AND site IN ('a', 'b')) OR (kind = 'movement')) ORDER BY ts DESC, id DESC LIMIT 50",
  byId: "SELECT * FROM events WHERE id = 'x'",
  gateById: "SELECT * FROM events WHERE id = 'x' AND site = 's' AND kind = 'access'",
  gateSince: "SELECT * FROM events WHERE site = 's' AND kind = 'access' AND ts >= 't' ORDER BY ts",
  fleet: "SELECT count(*) FROM events WHERE site = 's' AND kind = 'camera' AND received_at >= 't'",
  alerts:
    "SELECT e.* FROM events e LEFT JOIN alert_acks a ON a.alert_id = e.id WHERE e.site = 's' AND e.ts >= 't' AND a.alert_id IS NULL AND ((e.kind = 'access' AND json_extract(e.payload, '$.decision') IN ('mismatch')) OR (e.kind = 'camera')) ORDER BY e.ts DESC, e.id DESC LIMIT 50",
  siteStats: "SELECT count(*) FROM events WHERE site = 's' AND kind = 'access' AND ts >= 'a' AND ts < 'b'",
  register: "SELECT count(*) AS n FROM events WHERE site = 's' AND kind = 'access'",
  personExport:
    "SELECT id FROM events WHERE kind = 'access' AND site = 's' AND json_extract(payload, '$.credentialId') IN ('c') ORDER BY ts, id",
  purgeTs:
    "DELETE FROM events WHERE rowid IN (SELECT rowid FROM events INDEXED BY events_site_kind_ts WHERE site = 's' AND kind = 'access' AND ts < 't' LIMIT 10)",
  purgeReceived:
    "DELETE FROM events WHERE rowid IN (SELECT rowid FROM events INDEXED BY events_site_kind_received_at WHERE site = 's' AND kind = 'access' AND received_at < 't' LIMIT 10)",
  liveResume: "SELECT * FROM events WHERE rowid > 5 AND (kind = 'access') ORDER BY rowid DESC LIMIT 50",
};

describe('events indexes after migration 120', () => {
  let tmp: ReturnType<typeof makeTempDir>;
  beforeEach(() => {
    tmp = makeTempDir();
  });
  afterEach(() => tmp.remove());

  it('every query on events keeps its plan without events_site_agent_ts', () => {
    const db = openDatabase({ dataDir: tmp.dir, migrations: MIGRATIONS.filter((m) => m.version < 120) });
    const plans = (): Record<string, string> =>
      Object.fromEntries(
        Object.entries(QUERIES).map(([k, q]) => [
          k,
          db
            .prepare(`EXPLAIN QUERY PLAN ${q}`)
            .all()
            .map((r) => (r as { detail: string }).detail)
            .join(' | '),
        ]),
      );
    const indexes = (): string[] =>
      db
        .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events' ORDER BY name")
        .all()
        .map((r) => (r as { name: string }).name);
    const before = plans();
    expect(indexes()).toContain('events_site_agent_ts');
    expect(migrate(db, MIGRATIONS)).toContain(120);
    expect(indexes()).not.toContain('events_site_agent_ts');
    const after = plans();
    expect(after).toEqual(before);
    // and none of them reads the whole table without an index
    for (const [k, plan] of Object.entries(after)) expect(plan, k).not.toMatch(/SCAN (events|e)\b(?! USING)/);
    db.close();
  });
});
