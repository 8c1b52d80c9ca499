import type { Database } from 'better-sqlite3';
import type { AgentRepository } from '../repositories/agent-repository.js';
import { eventFromRow, type EventKind, type EventRow, type StoredEvent } from '../repositories/event-repository.js';

/**
 * The supervisors' alert queue: which events and offline states need a person, and who acknowledged
 * them. Alerts are not stored as such: they are the stored events of an alert kind, and the agents
 * currently offline. Only acknowledgements are written (`alert_acks`), so an alert is "open" until
 * someone acknowledges it, across page reloads, supervisors and server restarts.
 */

export const ALERT_KINDS = [
  'mismatch',
  'spoof_suspected',
  'tailgating',
  'zone_entry',
  'wrong_way',
  'camera_offline',
  'agent_offline',
] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];

/** Where each kind comes from; the caller's permission on that source decides whether it sees the alert. */
export const ALERT_SOURCE: Readonly<Record<AlertKind, EventKind | 'agent'>> = {
  mismatch: 'access',
  spoof_suspected: 'access',
  tailgating: 'movement',
  zone_entry: 'movement',
  wrong_way: 'movement',
  camera_offline: 'camera',
  agent_offline: 'agent',
};

export const MAX_NOTE_CHARS = 500;
/** How far back an unacknowledged alert stays in the queue (by its time); older ones stay in the event history. */
export const DEFAULT_OPEN_WINDOW_MS = 24 * 3_600_000;

export interface Alert {
  /** the event id, or `agent-offline.{agent}.{sinceMs}` for an offline period */
  id: string;
  kind: AlertKind;
  site: string;
  agent: string;
  camera: string | null;
  /** edge time of the event, or when the agent was last heard of before going offline */
  ts: string;
  /** the event behind the alert; null for an agent offline */
  event: StoredEvent | null;
  /** agent offline only: the reason of its last status (`connection_lost`, `stopped`) */
  reason?: string | null;
}

export interface AlertAck {
  alertId: string;
  site: string;
  kind: AlertKind;
  agent: string;
  camera: string | null;
  alertTs: string;
  ackedAt: string;
  /** operator username */
  ackedBy: string;
  note: string | null;
}

export type AckError =
  | { code: 'UNKNOWN_ALERT'; message: string }
  | { code: 'ALREADY_ACKNOWLEDGED'; message: string; ack: AlertAck }
  | { code: 'NOTE_TOO_LONG'; message: string };
export type AckResult = { ok: true; value: { ack: AlertAck; alert: Alert } } | { ok: false; error: AckError };

export interface ListOpenQuery {
  site: string;
  /** the kinds the caller may see */
  kinds: readonly AlertKind[];
  /** alerts older than this are not listed (default: 24 h before now) */
  sinceIso?: string;
  limit?: number;
}

export interface AlertService {
  /** Unacknowledged alerts of a site, newest first. */
  listOpen(q: ListOpenQuery): Alert[];
  /** Acknowledgements of a site made since `sinceIso`, newest first. */
  listAcks(site: string, sinceIso: string, limit?: number): AlertAck[];
  /** The alert with this id at this site, acknowledged or not; null when there is none. */
  find(site: string, alertId: string): Alert | null;
  /** Record an acknowledgement (once per alert) of an alert of one of `kinds`. */
  ack(site: string, alertId: string, by: string, note: string | null, kinds: readonly AlertKind[]): AckResult;
}

export interface AlertServiceDeps {
  db: Database;
  agents: AgentRepository;
  now?: () => Date;
  openWindowMs?: number;
}

/** The alert kind of a stored event, or null for ordinary traffic. */
export function alertKindOfEvent(e: Pick<StoredEvent, 'kind' | 'payload'>): AlertKind | null {
  switch (e.kind) {
    case 'access': {
      const d = (e.payload as { decision: string }).decision;
      return d === 'mismatch' || d === 'spoof_suspected' ? d : null;
    }
    case 'movement': {
      const k = (e.payload as { kind: string }).kind;
      return k === 'tailgating' || k === 'zone_entry' || k === 'wrong_way' ? k : null;
    }
    case 'camera': {
      const p = e.payload as { state: string; code?: string };
      // STOPPED is the agent stopping its own cameras: the agent offline alert already says it
      return (p.state === 'offline' || p.state === 'stalled') && p.code !== 'STOPPED' ? 'camera_offline' : null;
    }
  }
}

const AGENT_OFFLINE_PREFIX = 'agent-offline.';

/** Id of the offline period of an agent that started at `sinceIso` (agent ids hold no dot). */
export function agentOfflineAlertId(agent: string, sinceIso: string): string {
  return `${AGENT_OFFLINE_PREFIX}${agent}.${Date.parse(sinceIso)}`;
}

/** SQL condition (on `e`, an events row) matching the alert kinds among `kinds`; null when none are events. */
function eventKindsCondition(kinds: ReadonlySet<AlertKind>): string | null {
  const parts: string[] = [];
  const access = ['mismatch', 'spoof_suspected'].filter((k) => kinds.has(k as AlertKind));
  if (access.length)
    parts.push(
      `(e.kind = 'access' AND json_extract(e.payload, '$.decision') IN (${access.map((k) => `'${k}'`).join(', ')}))`,
    );
  const movement = ['tailgating', 'zone_entry', 'wrong_way'].filter((k) => kinds.has(k as AlertKind));
  if (movement.length)
    parts.push(
      `(e.kind = 'movement' AND json_extract(e.payload, '$.kind') IN (${movement.map((k) => `'${k}'`).join(', ')}))`,
    );
  if (kinds.has('camera_offline'))
    parts.push(
      `(e.kind = 'camera' AND json_extract(e.payload, '$.state') IN ('offline', 'stalled') AND coalesce(json_extract(e.payload, '$.code'), '') <> 'STOPPED')`,
    );
  return parts.length ? `(${parts.join(' OR ')})` : null;
}

interface AckRow {
  alert_id: string;
  site: string;
  kind: AlertKind;
  agent: string;
  camera: string | null;
  alert_ts: string;
  acked_at: string;
  acked_by: string;
  note: string | null;
}

function toAck(r: AckRow): AlertAck {
  return {
    alertId: r.alert_id,
    site: r.site,
    kind: r.kind,
    agent: r.agent,
    camera: r.camera,
    alertTs: r.alert_ts,
    ackedAt: r.acked_at,
    ackedBy: r.acked_by,
    note: r.note,
  };
}

function newestFirst(a: Alert, b: Alert): number {
  return a.ts < b.ts ? 1 : a.ts > b.ts ? -1 : a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

export function createAlertService(deps: AlertServiceDeps): AlertService {
  const { db, agents } = deps;
  const now = deps.now ?? (() => new Date());
  const windowMs = deps.openWindowMs ?? DEFAULT_OPEN_WINDOW_MS;
  const ackByIdStmt = db.prepare<[string], AckRow>('SELECT * FROM alert_acks WHERE alert_id = ?');
  const eventStmt = db.prepare<[string, string], EventRow>('SELECT * FROM events WHERE id = ? AND site = ?');
  const insertAckStmt = db.prepare(
    `INSERT INTO alert_acks (alert_id, site, kind, agent, camera, alert_ts, acked_at, acked_by, note)
     VALUES (@alertId, @site, @kind, @agent, @camera, @alertTs, @ackedAt, @ackedBy, @note)
     ON CONFLICT (alert_id) DO NOTHING`,
  );
  const acksStmt = db.prepare<[string, string, number], AckRow>(
    'SELECT * FROM alert_acks WHERE site = ? AND acked_at >= ? ORDER BY acked_at DESC LIMIT ?',
  );

  /** Agents of the site offline now, as alerts (acknowledged or not). */
  function offlineAgents(site: string): Alert[] {
    return agents
      .list()
      .filter((a) => a.site === site && a.state === 'offline')
      .map((a) => {
        // last heard of: stable while the agent stays away (its last will does not move it)
        const since = a.lastSeen ?? a.updatedAt;
        return {
          id: agentOfflineAlertId(a.agent, since),
          kind: 'agent_offline' as const,
          site,
          agent: a.agent,
          camera: null,
          ts: since,
          event: null,
          reason: a.status?.reason ?? null,
        };
      });
  }

  function find(site: string, alertId: string): Alert | null {
    if (alertId.startsWith(AGENT_OFFLINE_PREFIX)) {
      const open = offlineAgents(site).find((a) => a.id === alertId);
      if (open) return open;
      // the agent is back: the period stays known through its acknowledgement only
      const ack = ackByIdStmt.get(alertId);
      return ack && ack.site === site
        ? { id: alertId, kind: 'agent_offline', site, agent: ack.agent, camera: null, ts: ack.alert_ts, event: null }
        : null;
    }
    const row = eventStmt.get(alertId, site);
    if (!row) return null;
    const event = eventFromRow(row);
    const kind = alertKindOfEvent(event);
    return kind ? { id: event.id, kind, site, agent: event.agent, camera: event.camera, ts: event.ts, event } : null;
  }

  return {
    listOpen({ site, kinds, sinceIso, limit = 200 }) {
      const wanted = new Set(kinds);
      const since = sinceIso ?? new Date(now().getTime() - windowMs).toISOString();
      const out: Alert[] = [];
      const cond = eventKindsCondition(wanted);
      if (cond) {
        const rows = db
          .prepare<[string, string, number], EventRow>(
            `SELECT e.* FROM events e LEFT JOIN alert_acks a ON a.alert_id = e.id
             WHERE e.site = ? AND e.ts >= ? AND a.alert_id IS NULL AND ${cond}
             ORDER BY e.ts DESC, e.id DESC LIMIT ?`,
          )
          .all(site, since, limit);
        for (const r of rows) {
          const event = eventFromRow(r);
          const kind = alertKindOfEvent(event)!;
          out.push({ id: event.id, kind, site, agent: event.agent, camera: event.camera, ts: event.ts, event });
        }
      }
      // an agent offline is an alert however long ago it left, until acknowledged
      if (wanted.has('agent_offline')) out.push(...offlineAgents(site).filter((a) => !ackByIdStmt.get(a.id)));
      return out.sort(newestFirst).slice(0, limit);
    },

    listAcks(site, sinceIso, limit = 500) {
      return acksStmt.all(site, sinceIso, limit).map(toAck);
    },

    find,

    ack(site, alertId, by, note, kinds) {
      if (note !== null && note.length > MAX_NOTE_CHARS)
        return {
          ok: false,
          error: { code: 'NOTE_TOO_LONG', message: `a note holds at most ${MAX_NOTE_CHARS} characters` },
        };
      const alert = find(site, alertId);
      // an alert the caller may not see is as unknown as a missing one
      if (!alert || !kinds.includes(alert.kind))
        return { ok: false, error: { code: 'UNKNOWN_ALERT', message: `no alert ${alertId} at site ${site}` } };
      const ack: AlertAck = {
        alertId,
        site,
        kind: alert.kind,
        agent: alert.agent,
        camera: alert.camera,
        alertTs: alert.ts,
        ackedAt: now().toISOString(),
        ackedBy: by,
        note: note === null || note.trim() === '' ? null : note.trim(),
      };
      if (insertAckStmt.run(ack).changes === 0) {
        const existing = toAck(ackByIdStmt.get(alertId)!);
        return {
          ok: false,
          error: {
            code: 'ALREADY_ACKNOWLEDGED',
            message: `acknowledged by ${existing.ackedBy} at ${existing.ackedAt}`,
            ack: existing,
          },
        };
      }
      return { ok: true, value: { ack, alert } };
    },
  };
}
