import type { AgentView, LiveEvent, ServerMessage } from './wire.js';

export const MAX_EVENTS = 200;

export interface LiveState {
  /** keyed by `site/agent` (ids cannot contain a slash) */
  agents: Record<string, AgentView>;
  /** newest first by edge time then id, unique by id, at most MAX_EVENTS */
  events: LiveEvent[];
  synced: boolean;
}

export const initialLiveState: LiveState = { agents: {}, events: [], synced: false };

export function agentKey(site: string, agent: string): string {
  return `${site}/${agent}`;
}

function newerFirst(a: LiveEvent, b: LiveEvent): number {
  const ta = Date.parse(a.ts);
  const tb = Date.parse(b.ts);
  if (ta !== tb) return tb - ta;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

/** Union by id (the first copy of an id wins, like the server), sorted newest first, capped. */
export function mergeEvents(
  current: readonly LiveEvent[],
  incoming: readonly LiveEvent[],
  cap = MAX_EVENTS,
): LiveEvent[] {
  const byId = new Map<string, LiveEvent>();
  for (const e of current) byId.set(e.id, e);
  let added = false;
  for (const e of incoming) {
    if (!byId.has(e.id)) {
      byId.set(e.id, e);
      added = true;
    }
  }
  if (!added && current.length <= cap) return current as LiveEvent[];
  return [...byId.values()].sort(newerFirst).slice(0, cap);
}

/** Pure reducer over server messages; `nowIso` is when the message was received. */
export function reduceLive(state: LiveState, msg: ServerMessage, nowIso: string): LiveState {
  switch (msg.type) {
    case 'hello': {
      // the snapshot is the truth for agents; events already shown are kept and deduplicated
      const agents: Record<string, AgentView> = {};
      for (const a of msg.agents) agents[agentKey(a.site, a.agent)] = a;
      return { agents, events: mergeEvents(state.events, msg.events), synced: true };
    }
    case 'agent': {
      const k = agentKey(msg.agent.site, msg.agent.agent);
      return { ...state, agents: { ...state.agents, [k]: msg.agent } };
    }
    case 'health': {
      const k = agentKey(msg.site, msg.agent);
      const prev = state.agents[k];
      const next: AgentView = prev
        ? { ...prev, health: msg.health, lastSeen: nowIso }
        : {
            site: msg.site,
            agent: msg.agent,
            state: 'unknown',
            status: null,
            health: msg.health,
            lastSeen: nowIso,
            updatedAt: nowIso,
          };
      return { ...state, agents: { ...state.agents, [k]: next } };
    }
    case 'event': {
      const events = mergeEvents(state.events, [msg.event]);
      const k = agentKey(msg.event.site, msg.event.agent);
      const prev = state.agents[k];
      const agents = prev ? { ...state.agents, [k]: { ...prev, lastSeen: nowIso } } : state.agents;
      return events === state.events && agents === state.agents ? state : { ...state, events, agents };
    }
  }
}
