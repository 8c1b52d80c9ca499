import Database from 'better-sqlite3';
import { newEventId, PROTOCOL_VERSION, type EventTopicKey, type PayloadOf, type Status } from '@portail/protocol';

/**
 * Bursts of agent events for the outbox fault tests. Event i carries its index in its edge time
 * (`ts` = BURST_BASE_MS + i ms), so the server's rows say which events arrived, once each, in what order.
 */
// recent on purpose: the control server's retention purge (at startup) deletes events older than
// the site's policy by edge time, so a fixed date in the past would vanish at a server restart.
// Start of the current UTC day: the same in the test and in the agent child process it spawns.
const now = new Date();
export const BURST_BASE_MS = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
export const BURST_CAMERAS = ['gate-a', 'gate-b', 'hall'] as const;

export type BurstEvent =
  { key: 'access'; payload: PayloadOf<'access'> } | { key: 'movement'; payload: PayloadOf<'movement'> };

/** Event i of a burst: an access verdict every tenth, line counts otherwise, cameras in turn. */
export function burstEvent(site: string, agent: string, i: number): BurstEvent {
  const envelope = {
    id: newEventId(),
    v: PROTOCOL_VERSION,
    site,
    agent,
    camera: BURST_CAMERAS[i % BURST_CAMERAS.length]!,
    ts: new Date(BURST_BASE_MS + i).toISOString(),
  };
  if (i % 10 === 0)
    return { key: 'access', payload: { ...envelope, passageId: `p-${i}`, decision: 'accepted', biometric: false } };
  return { key: 'movement', payload: { ...envelope, kind: 'line_counts', rule: 'entry', counts: { in: i, out: 0 } } };
}

export function onlineStatus(site: string, agent: string): Status {
  return { v: PROTOCOL_VERSION, site, agent, state: 'online', reason: 'started', ts: new Date().toISOString() };
}

export interface StoredBurstEvent {
  /** insertion order in the server's table: the order of first receipt */
  rowid: number;
  id: string;
  kind: EventTopicKey;
  camera: string;
  index: number;
}

/** The server's stored events of one site, in the order it first received them (read from its SQLite file). */
export function readStoredBurst(dbPath: string, site: string): StoredBurstEvent[] {
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    const rows = db
      .prepare('SELECT rowid, id, kind, camera, ts FROM events WHERE site = ? ORDER BY rowid')
      .all(site) as Array<{
      rowid: number;
      id: string;
      kind: EventTopicKey;
      camera: string;
      ts: string;
    }>;
    return rows.map((r) => ({
      rowid: r.rowid,
      id: r.id,
      kind: r.kind,
      camera: r.camera,
      index: Date.parse(r.ts) - BURST_BASE_MS,
    }));
  } finally {
    db.close();
  }
}

export function countStored(dbPath: string, site: string): number {
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    return (db.prepare('SELECT count(*) AS n FROM events WHERE site = ?').get(site) as { n: number }).n;
  } finally {
    db.close();
  }
}

/** Pending (not yet acknowledged by the broker) rows left in an agent's outbox file. */
export function countOutboxPending(agentDbPath: string): number {
  const db = new Database(agentDbPath, { readonly: true, fileMustExist: true });
  try {
    return (db.prepare('SELECT count(*) AS n FROM outbox WHERE delivered_ms IS NULL').get() as { n: number }).n;
  } finally {
    db.close();
  }
}
