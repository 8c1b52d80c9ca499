import { ALERT_SOURCE } from '../../alerts/alert-service.js';
import { sitesWith, siteAllowed, type Permission, type Principal } from '../../auth/permissions.js';
import { EVENT_KINDS, type EventKind, type EventScope } from '../../repositories/event-repository.js';
import type { LiveMessage } from '../../services/live-bus.js';

export const EVENT_READ_PERMISSION: Readonly<Record<EventKind, Permission>> = {
  access: 'events.access:read',
  movement: 'events.movement:read',
  camera: 'events.camera:read',
};

export const ANY_EVENT_READ: readonly Permission[] = EVENT_KINDS.map((k) => EVENT_READ_PERMISSION[k]);

/** Event kinds and sites `p` may read; undefined when nothing is scoped (auth disabled). */
export function eventScopeOf(p: Principal, site?: string): EventScope[] | undefined {
  if (p.authDisabled && site === undefined) return undefined;
  return EVENT_KINDS.map((kind) => {
    const sites = sitesWith(p, EVENT_READ_PERMISSION[kind]);
    if (site !== undefined) return { kind, sites: siteAllowed(sites, site) ? [site] : [] };
    return { kind, sites: sites === '*' ? '*' : [...sites] };
  });
}

/**
 * A live filter and the key of what it lets through: two filters with the same key accept the same
 * messages, so the hub evaluates one per key and shares the serialised frames among its clients.
 */
export type LiveFilter = ((msg: LiveMessage) => boolean) & { readonly key: string };

function sitesKey(sites: ReturnType<typeof sitesWith>): string {
  return sites === '*' ? '*' : [...sites].sort().join(',');
}

/** Which live messages a WebSocket client of `p` receives: agents and events of its sites only. */
export function liveFilterOf(p: Principal): LiveFilter {
  if (p.authDisabled) return Object.assign(() => true, { key: 'all' });
  const agentSites = sitesWith(p, 'agents:read');
  const eventSites = Object.fromEntries(EVENT_KINDS.map((k) => [k, sitesWith(p, EVENT_READ_PERMISSION[k])])) as Record<
    EventKind,
    ReturnType<typeof sitesWith>
  >;
  // gate consoles: who may see who is behind a passage (gate routes), at which sites
  const gateSites = [sitesWith(p, 'photos:read'), sitesWith(p, 'overrides:write')];
  // registry import progress: who may import at that site (people routes)
  const importSites = sitesWith(p, 'people:write');
  // everything the filter below reads, and nothing else: the same key means the same verdicts
  const key = JSON.stringify([
    sitesKey(agentSites),
    ...EVENT_KINDS.map((k) => sitesKey(eventSites[k])),
    ...gateSites.map(sitesKey),
    sitesKey(importSites),
  ]);
  const filter = (msg: LiveMessage): boolean => {
    switch (msg.type) {
      case 'agent':
        return siteAllowed(agentSites, msg.agent.site);
      case 'health':
        return siteAllowed(agentSites, msg.site);
      case 'event':
        return siteAllowed(eventSites[msg.kind], msg.event.site);
      case 'alert_ack':
        // the consoles that could show the alert: those reading its source at that site
        return msg.ack.kind === 'agent_offline'
          ? siteAllowed(agentSites, msg.ack.site)
          : siteAllowed(eventSites[ALERT_SOURCE[msg.ack.kind] as EventKind], msg.ack.site);
      case 'tracks':
        // trajectories are movement data
        return siteAllowed(eventSites.movement, msg.tracks.site);
      case 'passage_action':
        return gateSites.some((sites) => siteAllowed(sites, msg.site));
      case 'people_import':
        return siteAllowed(importSites, msg.site);
    }
  };
  return Object.assign(filter, { key });
}
