import type { AgentView } from '../../live/wire.js';

/**
 * The fleet view's data: `GET /api/fleet` (alerts of the last hour, the sync version published per
 * site: what only the server knows), with the agents' figures kept live from the shared WebSocket
 * (status and health pushes). Pure, restating the server's shape (control-server/src/http/routes/
 * fleet-routes.ts) as the console reads it. Machine figures and counts only: no student data.
 */

export const FLEET_ALERT_KINDS = ['mismatch', 'spoof', 'tailgating', 'zone', 'wrongWay', 'cameraOffline'] as const;
export type FleetAlertKind = (typeof FLEET_ALERT_KINDS)[number];

export interface FleetAgentRow {
  site: string;
  agent: string;
  state: AgentView['state'];
  lastSeen: string | null;
  version: string | null;
  providers: string[];
  cameras: { online: number; total: number };
  fps: number | null;
  latencyP95Ms: number | null;
  outboxDepth: number | null;
  syncVersion: number | null;
  configVersion: number | null;
  healthAt: string | null;
}

export interface FleetSiteRow {
  site: string;
  agents: { online: number; total: number };
  alertsLastHour: Partial<Record<FleetAlertKind, number>> & { total: number };
  worst: { fps: number | null; latencyP95Ms: number | null; outboxDepth: number | null };
  versions: string[];
  sync: { published: number | null; upToDate: number; behind: number };
}

export interface FleetResponse {
  generatedAt: string;
  sites: FleetSiteRow[];
  agents: FleetAgentRow[];
}

const round1 = (x: number) => Math.round(x * 10) / 10;

/** One agent's row from its live record (the server computes the same in fleetAgentOf). */
export function agentRowOf(a: AgentView): FleetAgentRow {
  const h = a.health;
  const fps = h && h.cameras.length > 0 ? Math.min(...h.cameras.map((c) => c.fps)) : null;
  const stages = h ? Object.values(h.stages) : [];
  const frame = h?.stages.frame;
  const latency = frame ? frame.p95Ms : stages.length > 0 ? Math.max(...stages.map((s) => s.p95Ms)) : null;
  const cams = a.status?.cameras ?? [];
  return {
    site: a.site,
    agent: a.agent,
    state: a.state,
    lastSeen: a.lastSeen,
    version: a.status?.version ?? null,
    providers: [...new Set((a.status?.models ?? []).map((m) => m.provider).filter((p): p is string => !!p))].sort(),
    cameras: { online: cams.filter((c) => c.state === 'online').length, total: cams.length },
    fps: fps === null ? null : round1(fps),
    latencyP95Ms: latency === null ? null : round1(latency),
    outboxDepth: h?.outboxDepth ?? null,
    syncVersion: a.syncState?.appliedVersion ?? null,
    configVersion: a.configState?.appliedVersion ?? a.status?.configVersion ?? null,
    healthAt: h?.ts ?? null,
  };
}

const worstOf = (xs: Array<number | null>, pick: (a: number, b: number) => number): number | null =>
  xs.reduce<number | null>((acc, x) => (x === null ? acc : acc === null ? x : pick(acc, x)), null);

/**
 * The fleet as shown now: agents from the live state (newer than the fetch) where the socket knows
 * them, else from the fetch; per-site summaries recomputed from those rows, with the alert counts
 * and published sync versions of the last fetch.
 */
export function liveFleet(fetched: FleetResponse | null, live: Readonly<Record<string, AgentView>>): FleetResponse {
  const rows = new Map<string, FleetAgentRow>();
  for (const a of fetched?.agents ?? []) rows.set(`${a.site}/${a.agent}`, a);
  for (const a of Object.values(live)) rows.set(`${a.site}/${a.agent}`, agentRowOf(a));
  const agents = [...rows.values()].sort((x, y) => x.site.localeCompare(y.site) || x.agent.localeCompare(y.agent));
  const sites = [...new Set(agents.map((a) => a.site))].sort();
  return {
    generatedAt: fetched?.generatedAt ?? new Date(0).toISOString(),
    agents,
    sites: sites.map((site) => {
      const of = agents.filter((a) => a.site === site);
      const onlineRows = of.filter((a) => a.state === 'online');
      const before = fetched?.sites.find((s) => s.site === site);
      const published = before?.sync.published ?? null;
      return {
        site,
        agents: { online: onlineRows.length, total: of.length },
        alertsLastHour: before?.alertsLastHour ?? { total: 0 },
        worst: {
          fps: worstOf(
            onlineRows.map((a) => a.fps),
            Math.min,
          ),
          latencyP95Ms: worstOf(
            onlineRows.map((a) => a.latencyP95Ms),
            Math.max,
          ),
          outboxDepth: worstOf(
            of.map((a) => a.outboxDepth),
            Math.max,
          ),
        },
        versions: [...new Set(of.map((a) => a.version).filter((v): v is string => v !== null))].sort(),
        sync: {
          published,
          upToDate: published === null ? 0 : of.filter((a) => a.syncVersion === published).length,
          behind: published === null ? 0 : of.filter((a) => a.syncVersion !== published).length,
        },
      };
    }),
  };
}

export type SiteHealth = 'ok' | 'warn' | 'bad';

/** A site's colour: bad when an agent is down, warn on a backlog, alerts or agents behind. */
export function siteHealth(s: FleetSiteRow, o: { outboxWarn?: number } = {}): SiteHealth {
  if (s.agents.online < s.agents.total) return 'bad';
  if ((s.worst.outboxDepth ?? 0) >= (o.outboxWarn ?? 100) || s.alertsLastHour.total > 0 || s.sync.behind > 0)
    return 'warn';
  return 'ok';
}
