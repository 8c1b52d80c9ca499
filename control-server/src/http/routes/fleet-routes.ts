import type { FastifyPluginAsync } from 'fastify';
import { siteAllowed, sitesWith } from '../../auth/permissions.js';
import { FLEET_ALERT_KINDS, type FleetAlertKind } from '../../cameras/fleet-queries.js';
import type { AgentRecord } from '../../repositories/agent-repository.js';

/**
 * GET /api/fleet: every site and agent the caller may see (`agents:read`), at a glance, for
 * regional IT: online/offline, fps, latency, outbox depth, versions, sync version held against the
 * one published, alerts of the last hour per site by kind. Counts and machine figures only: no
 * event payload, no credential id, no name.
 */

export interface FleetAgent {
  site: string;
  agent: string;
  state: AgentRecord['state'];
  lastSeen: string | null;
  version: string | null;
  /** execution providers the models run on */
  providers: string[];
  cameras: { online: number; total: number };
  /** the slowest camera's processed frames per second (null without health) */
  fps: number | null;
  /** per-frame processing time p95 (the `frame` stage; else the slowest stage), ms */
  latencyP95Ms: number | null;
  outboxDepth: number | null;
  syncVersion: number | null;
  configVersion: number | null;
  healthAt: string | null;
}

export interface FleetSite {
  site: string;
  agents: { online: number; total: number };
  alertsLastHour: Partial<Record<FleetAlertKind, number>> & { total: number };
  worst: { fps: number | null; latencyP95Ms: number | null; outboxDepth: number | null };
  versions: string[];
  sync: { published: number | null; upToDate: number; behind: number };
}

export interface FleetView {
  generatedAt: string;
  sites: FleetSite[];
  agents: FleetAgent[];
}

/** Pure: one agent's row. */
export function fleetAgentOf(a: AgentRecord): FleetAgent {
  const h = a.health;
  const fps = h && h.cameras.length > 0 ? Math.min(...h.cameras.map((c) => c.fps)) : null;
  const stages = h ? Object.entries(h.stages) : [];
  const frame = h?.stages.frame;
  const latency = frame ? frame.p95Ms : stages.length > 0 ? Math.max(...stages.map(([, s]) => s.p95Ms)) : null;
  const cams = a.status?.cameras ?? [];
  return {
    site: a.site,
    agent: a.agent,
    state: a.state,
    lastSeen: a.lastSeen,
    version: a.status?.version ?? null,
    providers: [...new Set((a.status?.models ?? []).map((m) => m.provider).filter((p): p is string => !!p))].sort(),
    cameras: { online: cams.filter((c) => c.state === 'online').length, total: cams.length },
    fps: fps === null ? null : Math.round(fps * 10) / 10,
    latencyP95Ms: latency === null ? null : Math.round(latency * 10) / 10,
    outboxDepth: h?.outboxDepth ?? null,
    syncVersion: a.syncState?.appliedVersion ?? null,
    configVersion: a.configState?.appliedVersion ?? a.status?.configVersion ?? null,
    healthAt: h?.ts ?? null,
  };
}

const worstOf = (xs: Array<number | null>, pick: (a: number, b: number) => number): number | null =>
  xs.reduce<number | null>((acc, x) => (x === null ? acc : acc === null ? x : pick(acc, x)), null);

/** Pure: the per-site summary of agent rows, alert counts and published sync versions. */
export function summariseFleet(
  agents: readonly FleetAgent[],
  alerts: (site: string) => Partial<Record<FleetAlertKind, number>>,
  published: ReadonlyMap<string, number>,
  nowIso: string,
): FleetView {
  const sites = [...new Set(agents.map((a) => a.site))].sort();
  return {
    generatedAt: nowIso,
    agents: [...agents].sort((x, y) => x.site.localeCompare(y.site) || x.agent.localeCompare(y.agent)),
    sites: sites.map((site) => {
      const of = agents.filter((a) => a.site === site);
      // offline agents report stale figures: the worst of what runs now
      const live = of.filter((a) => a.state === 'online');
      const counts = alerts(site);
      const total = FLEET_ALERT_KINDS.reduce((n, k) => n + (counts[k] ?? 0), 0);
      const pub = published.get(site) ?? null;
      return {
        site,
        agents: { online: live.length, total: of.length },
        alertsLastHour: { ...counts, total },
        worst: {
          fps: worstOf(
            live.map((a) => a.fps),
            Math.min,
          ),
          latencyP95Ms: worstOf(
            live.map((a) => a.latencyP95Ms),
            Math.max,
          ),
          outboxDepth: worstOf(
            of.map((a) => a.outboxDepth),
            Math.max,
          ),
        },
        versions: [...new Set(of.map((a) => a.version).filter((v): v is string => v !== null))].sort(),
        sync: {
          published: pub,
          upToDate: pub === null ? 0 : of.filter((a) => a.syncVersion === pub).length,
          behind: pub === null ? 0 : of.filter((a) => a.syncVersion !== pub).length,
        },
      };
    }),
  };
}

const HOUR_MS = 3_600_000;

export const fleetRoutes: FastifyPluginAsync = async (app) => {
  app.get('/api/fleet', { config: { permission: 'agents:read' } }, async (req) => {
    const sites = sitesWith(req.principal!, 'agents:read');
    const rows = app.deps.agents
      .list()
      .filter((a) => siteAllowed(sites, a.site))
      .map(fleetAgentOf);
    const now = Date.now();
    const since = new Date(now - HOUR_MS).toISOString();
    const fleet = app.deps.fleet;
    return summariseFleet(
      rows,
      (site) => fleet?.alertCounts(site, since) ?? {},
      fleet?.publishedSyncVersions() ?? new Map(),
      new Date(now).toISOString(),
    );
  });
};
