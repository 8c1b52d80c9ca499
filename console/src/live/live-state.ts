import type { Tracks } from '@portail/protocol';
import { alertKindOf, MAX_ALERTS } from './alerts.js';
import { reduceLineCounts, type LineCounts } from './line-counts.js';
import type {
  AgentView,
  AlertAckView,
  ImportJobView,
  LiveEvent,
  PassageAckView,
  PassageOverrideView,
  ServerMessage,
} from './wire.js';

export const MAX_EVENTS = 200;

export interface LiveState {
  /** keyed by `site/agent` (ids cannot contain a slash) */
  agents: Record<string, AgentView>;
  /** newest first by edge time then id, unique by id, at most MAX_EVENTS */
  events: LiveEvent[];
  /**
   * Movement alerts and gate verdicts that need a human, newest first, at most MAX_ALERTS. Kept apart
   * from `events` so a burst of ordinary traffic does not push an alert out of the queue.
   */
  alerts: LiveEvent[];
  /**
   * Latest counts per line. The server has no "current counts" query yet, so they are rebuilt from the
   * `line_counts` events of each hello snapshot plus the live pushes: a line whose last report is older
   * than the snapshot's events shows up only at its next change.
   */
  lineCounts: LineCounts;
  /**
   * Alerts acknowledged while this page was open (pushed as `alert_ack` to every console of the site),
   * by alert id: the live view drops them from its queue at once, whoever acknowledged them.
   */
  acked: Record<string, AlertAckView>;
  /**
   * Gate passages acknowledged or overridden while this page was open (pushed as `passage_action` to
   * every gate console of the site), by event id: a card acknowledged on one tablet leaves the others.
   */
  passageActions: Record<string, PassageActionsView>;
  /** registry imports started while this page was open (pushed as `people_import`), latest state by job id */
  peopleImports: Record<string, ImportJobView>;
  /**
   * The latest recent trajectories of each tracking camera, keyed `site/agent/camera`, with when they
   * arrived: the camera tiles draw them fading with age and drop them once stale.
   */
  tracks: Record<string, { tracks: Tracks; receivedAt: string }>;
  synced: boolean;
}

export interface PassageActionsView {
  ack: PassageAckView | null;
  override: PassageOverrideView | null;
}

export const initialLiveState: LiveState = {
  agents: {},
  events: [],
  alerts: [],
  lineCounts: {},
  acked: {},
  passageActions: {},
  peopleImports: {},
  tracks: {},
  synced: false,
};

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

/** The alert queue: the alert events among `incoming`, merged like the event list. */
export function mergeAlerts(
  current: readonly LiveEvent[],
  incoming: readonly LiveEvent[],
  cap = MAX_ALERTS,
): LiveEvent[] {
  const alerts = incoming.filter((e) => alertKindOf(e) !== null);
  return alerts.length === 0 ? (current as LiveEvent[]) : mergeEvents(current, alerts, cap);
}

/** Pure reducer over server messages; `nowIso` is when the message was received. */
export function reduceLive(state: LiveState, msg: ServerMessage, nowIso: string): LiveState {
  switch (msg.type) {
    case 'hello': {
      // the snapshot is the truth for agents; events already shown are kept and deduplicated
      const agents: Record<string, AgentView> = {};
      for (const a of msg.agents) agents[agentKey(a.site, a.agent)] = a;
      return {
        agents,
        events: mergeEvents(state.events, msg.events),
        alerts: mergeAlerts(state.alerts, msg.events),
        lineCounts: reduceLineCounts(state.lineCounts, msg.events),
        acked: state.acked,
        passageActions: state.passageActions,
        peopleImports: state.peopleImports,
        tracks: state.tracks,
        synced: true,
      };
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
      const alerts = mergeAlerts(state.alerts, [msg.event]);
      const lineCounts = reduceLineCounts(state.lineCounts, [msg.event]);
      const k = agentKey(msg.event.site, msg.event.agent);
      const prev = state.agents[k];
      const agents = prev ? { ...state.agents, [k]: { ...prev, lastSeen: nowIso } } : state.agents;
      const unchanged =
        events === state.events &&
        agents === state.agents &&
        alerts === state.alerts &&
        lineCounts === state.lineCounts;
      return unchanged ? state : { ...state, events, agents, alerts, lineCounts };
    }
    case 'alert_ack':
      return state.acked[msg.ack.alertId] ? state : { ...state, acked: { ...state.acked, [msg.ack.alertId]: msg.ack } };
    case 'passage_action':
      return {
        ...state,
        passageActions: { ...state.passageActions, [msg.eventId]: { ack: msg.ack, override: msg.override } },
      };
    case 'people_import':
      return { ...state, peopleImports: { ...state.peopleImports, [msg.job.id]: msg.job } };
    case 'tracks': {
      const k = `${msg.tracks.site}/${msg.tracks.agent}/${msg.tracks.camera}`;
      return { ...state, tracks: { ...state.tracks, [k]: { tracks: msg.tracks, receivedAt: nowIso } } };
    }
  }
}
