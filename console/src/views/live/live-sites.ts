import type { SessionInfo } from '../../auth/session.js';
import type { AgentView, LiveEvent } from '../../live/wire.js';

/** `perm` at `site` (disabled mode holds everything). */
export function canAt(s: SessionInfo, perm: string, site: string): boolean {
  if (s.authMode === 'disabled') return true;
  const sites = s.permissions[perm];
  return sites === '*' || (sites !== undefined && sites.includes(site));
}

/**
 * The sites the live view can show, sorted: those where the account reads movement or acknowledges
 * alerts, plus the sites its feed has shown (a regional grant `*`, or no accounts at all, names none).
 */
export function liveSites(s: SessionInfo, agents: readonly AgentView[], events: readonly LiveEvent[]): string[] {
  const out = new Set<string>();
  for (const perm of ['alerts:ack', 'events.movement:read']) {
    const sites = s.permissions[perm];
    if (sites !== undefined && sites !== '*') for (const site of sites) out.add(site);
  }
  const open = (site: string) =>
    s.authMode === 'disabled' || canAt(s, 'alerts:ack', site) || canAt(s, 'events.movement:read', site);
  for (const a of agents) if (open(a.site)) out.add(a.site);
  for (const e of events) if (open(e.site)) out.add(e.site);
  return [...out].sort();
}
