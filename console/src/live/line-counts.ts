import type { LiveEvent } from './wire.js';

/** Latest cumulative counts of one directed line, as last reported by its agent. */
export interface LineCount {
  site: string;
  agent: string;
  camera: string;
  /** the line's rule id */
  rule: string;
  in: number;
  out: number;
  /** edge time of the `line_counts` event these counts come from */
  ts: string;
  eventId: string;
}

/** keyed by `site/agent/camera/rule` (ids cannot contain a slash) */
export type LineCounts = Record<string, LineCount>;

export function lineCountKey(site: string, agent: string, camera: string, rule: string): string {
  return `${site}/${agent}/${camera}/${rule}`;
}

/** true when `a` was reported after `b`: edge time first, then the UUIDv7 id, which grows with time */
function isNewer(a: { ts: string; eventId: string }, b: { ts: string; eventId: string }): boolean {
  const ta = Date.parse(a.ts);
  const tb = Date.parse(b.ts);
  return ta !== tb ? ta > tb : a.eventId > b.eventId;
}

/**
 * Folds `line_counts` movement events into the latest counts per line. The counts are cumulative
 * since the agent started, so the newest report wins even when it is lower (the agent restarted);
 * an event older than what is shown (a replay, a snapshot arriving after a push) changes nothing.
 * Returns `current` itself when nothing changed, so React can skip the render.
 */
export function reduceLineCounts(current: LineCounts, events: readonly LiveEvent[]): LineCounts {
  let next: LineCounts | null = null;
  for (const e of events) {
    if (e.kind !== 'movement' || e.payload.kind !== 'line_counts' || !e.payload.counts) continue;
    const candidate: LineCount = {
      site: e.site,
      agent: e.agent,
      camera: e.camera,
      rule: e.payload.rule,
      in: e.payload.counts.in,
      out: e.payload.counts.out,
      ts: e.ts,
      eventId: e.id,
    };
    const key = lineCountKey(e.site, e.agent, e.camera, e.payload.rule);
    const prev = (next ?? current)[key];
    if (prev && !isNewer(candidate, prev)) continue;
    next ??= { ...current };
    next[key] = candidate;
  }
  return next ?? current;
}

/** Lines in a stable reading order: site, agent, camera, rule. */
export function sortedLineCounts(counts: LineCounts): LineCount[] {
  return Object.values(counts).sort(
    (a, b) =>
      a.site.localeCompare(b.site) ||
      a.agent.localeCompare(b.agent) ||
      a.camera.localeCompare(b.camera) ||
      a.rule.localeCompare(b.rule),
  );
}
