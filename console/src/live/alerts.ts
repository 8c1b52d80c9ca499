import type { AgentView, LiveEvent } from './wire.js';

/** How many alerts the queue keeps in memory; older ones stay in the server's event history. */
export const MAX_ALERTS = 100;

/** Movement alerts and the gate verdicts that need a person to look: the alert queue's content. */
export const ALERT_KINDS = ['tailgating', 'wrong_way', 'zone_entry', 'spoof_suspected', 'mismatch'] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];

/** How loud an alert is shown: `high` for a likely intrusion or fraud, `medium` for a rule breach to look at. */
export type AlertSeverity = 'high' | 'medium';

const SEVERITY: Record<AlertKind, AlertSeverity> = {
  tailgating: 'high',
  spoof_suspected: 'high',
  mismatch: 'high',
  wrong_way: 'medium',
  zone_entry: 'medium',
};

export function alertSeverity(kind: AlertKind): AlertSeverity {
  return SEVERITY[kind];
}

/**
 * The alert kind of an event, or null when it is not one. A `line_crossing` or `line_counts` is
 * normal traffic and an access refusal for a revoked or unknown badge is handled at the gate: they
 * stay in the event list only.
 */
export function alertKindOf(e: LiveEvent): AlertKind | null {
  switch (e.kind) {
    case 'movement':
      return e.payload.kind === 'tailgating' || e.payload.kind === 'wrong_way' || e.payload.kind === 'zone_entry'
        ? e.payload.kind
        : null;
    case 'access':
      return e.payload.decision === 'mismatch' || e.payload.decision === 'spoof_suspected' ? e.payload.decision : null;
    case 'camera':
      return null;
  }
}

// ---------------------------------------------------------------------------------------------------
// The supervisors' queue: event alerts, camera and agent outages, minus what someone acknowledged.

/** Everything the queue can hold: the event alerts above, and equipment outages. */
export const QUEUE_KINDS = [...ALERT_KINDS, 'camera_offline', 'agent_offline'] as const;
export type QueueKind = (typeof QUEUE_KINDS)[number];

/**
 * Alerts about people (a person should go and look) and about equipment (someone should fix a
 * device): shown apart, so a camera left unplugged never buries a tailgating.
 */
export type QueueGroup = 'people' | 'equipment';

export function queueGroupOf(kind: QueueKind): QueueGroup {
  return kind === 'camera_offline' || kind === 'agent_offline' ? 'equipment' : 'people';
}

export function queueSeverity(kind: QueueKind): AlertSeverity {
  if (kind === 'agent_offline') return 'high';
  if (kind === 'camera_offline') return 'medium';
  return SEVERITY[kind];
}

/** One alert of the queue, from the server's open list or from the live feed. */
export interface QueueAlert {
  /** the event id, or `agent-offline.{agent}.{sinceMs}` (the server's id of an offline period) */
  id: string;
  kind: QueueKind;
  site: string;
  agent: string;
  camera: string | null;
  /** edge time of the event, or since when the agent is away */
  ts: string;
  event: LiveEvent | null;
  /** agent offline: the reason its last status gave */
  reason?: string | null;
}

/** The queue kind of an event: event alerts, and cameras going offline (unless their agent stopped them). */
export function queueKindOfEvent(e: LiveEvent): QueueKind | null {
  if (e.kind === 'camera') {
    const p = e.payload;
    return (p.state === 'offline' || p.state === 'stalled') && p.code !== 'STOPPED' ? 'camera_offline' : null;
  }
  return alertKindOf(e);
}

/** The server's id of an agent's offline period (control-server/src/alerts/alert-service.ts). */
export function agentOfflineAlertId(agent: string, sinceIso: string): string {
  return `agent-offline.${agent}.${Date.parse(sinceIso)}`;
}

export function alertOfEvent(e: LiveEvent): QueueAlert | null {
  const kind = queueKindOfEvent(e);
  return kind ? { id: e.id, kind, site: e.site, agent: e.agent, camera: e.camera, ts: e.ts, event: e } : null;
}

function newestFirst(a: QueueAlert, b: QueueAlert): number {
  const ta = Date.parse(a.ts);
  const tb = Date.parse(b.ts);
  if (ta !== tb) return tb - ta;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

export interface QueueInput {
  /** only this site's alerts; all sites when null */
  site: string | null;
  /** the server's open alerts (GET /api/sites/:site/alerts?open=1), fetched at load and reconnect */
  server: readonly QueueAlert[];
  /** live events: alerts and camera events pushed since */
  events: readonly LiveEvent[];
  agents: readonly AgentView[];
  /** acknowledged alert ids (from the server's list and the live `alert_ack` pushes) */
  acked: ReadonlySet<string>;
  /** oldest event alert kept (the server's window: 24 h); agent outages are kept however old */
  sinceMs: number;
}

/**
 * The open queue, newest first, each alert once: the server's list (the truth at load) merged with
 * what arrived live, minus the acknowledged ones. An agent outage is shown only while the agent is
 * offline; its id is the server's when the server listed it, so an acknowledgement matches.
 */
export function buildQueue(input: QueueInput): QueueAlert[] {
  const inSite = (s: string) => input.site === null || s === input.site;
  const byId = new Map<string, QueueAlert>();
  const offlineAgents = new Map(
    input.agents.filter((a) => a.state === 'offline' && inSite(a.site)).map((a) => [`${a.site}/${a.agent}`, a]),
  );
  const listedOffline = new Set<string>();
  for (const a of input.server) {
    if (!inSite(a.site)) continue;
    if (a.kind === 'agent_offline') {
      // listed at load, back online since: no longer an outage
      if (!offlineAgents.has(`${a.site}/${a.agent}`)) continue;
      listedOffline.add(`${a.site}/${a.agent}`);
    }
    byId.set(a.id, a);
  }
  for (const e of input.events) {
    if (!inSite(e.site) || byId.has(e.id) || Date.parse(e.ts) < input.sinceMs) continue;
    const a = alertOfEvent(e);
    if (a) byId.set(a.id, a);
  }
  for (const [key, a] of offlineAgents) {
    if (listedOffline.has(key)) continue;
    const since = a.lastSeen ?? a.updatedAt;
    const id = agentOfflineAlertId(a.agent, since);
    byId.set(id, {
      id,
      kind: 'agent_offline',
      site: a.site,
      agent: a.agent,
      camera: null,
      ts: since,
      event: null,
      reason: a.status?.reason ?? null,
    });
  }
  return [...byId.values()].filter((a) => !input.acked.has(a.id)).sort(newestFirst);
}

export interface QueueKindGroup {
  kind: QueueKind;
  items: QueueAlert[];
}

/** Groups by kind, each newest first; the group holding the newest alert comes first. */
export function groupByKind(queue: readonly QueueAlert[]): QueueKindGroup[] {
  const groups = new Map<QueueKind, QueueAlert[]>();
  // the queue is sorted newest first, so groups are created in the order of their newest alert
  for (const a of queue) {
    const g = groups.get(a.kind);
    if (g) g.push(a);
    else groups.set(a.kind, [a]);
  }
  return [...groups].map(([kind, items]) => ({ kind, items }));
}
