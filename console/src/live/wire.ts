import type { AccessEvent, CameraEvent, Health, MovementEvent, Status, Tracks } from '@portail/protocol';

/**
 * Messages of the control server's /ws, as the console reads them. The server owns the shape
 * (control-server/src/services/live-bus.ts, http/ws/live-socket.ts); services never import each other,
 * so it is restated here from the wire.
 */
export type AgentState = 'online' | 'offline' | 'unknown';

export interface AgentView {
  site: string;
  agent: string;
  state: AgentState;
  status: Status | null;
  health: Health | null;
  /** the agent's retained answer to its configuration (applied version, or why rejected); pushed with every change */
  configState?: AgentAnswerView | null;
  /** the agent's answer to its site's sync (templates, revocations, keys) */
  syncState?: (AgentAnswerView & { templateCount?: number; revocationCount?: number }) | null;
  lastSeen: string | null;
  updatedAt: string;
}

/** An agent's retained answer on `config/state` or `sync/state` (protocol ConfigState / SyncState), as read here. */
export interface AgentAnswerView {
  v?: number;
  site?: string;
  agent?: string;
  ts?: string;
  appliedVersion: number | null;
  result: 'applied' | 'rejected';
  receivedVersion: number | null;
  errors?: string[];
}

interface EventBase<K extends string, P> {
  id: string;
  kind: K;
  site: string;
  agent: string;
  camera: string;
  ts: string;
  receivedAt: string;
  payload: P;
}
export type LiveEvent =
  EventBase<'access', AccessEvent> | EventBase<'movement', MovementEvent> | EventBase<'camera', CameraEvent>;
export type EventKind = LiveEvent['kind'];

export type ServerMessage =
  | {
      type: 'hello';
      serverTime: string;
      agents: AgentView[];
      events: LiveEvent[];
      /** resume cursor: the id of the last event stored that this account may see (reconnect with `?after=`) */
      cursor?: string | null;
      /** `?after=` was known: `events` are only those stored after it */
      resumed?: boolean;
      /** resumed, but more was missed than the snapshot holds */
      truncated?: boolean;
    }
  | { type: 'agent'; agent: AgentView }
  | { type: 'health'; site: string; agent: string; health: Health }
  | { type: 'event'; kind: EventKind; event: LiveEvent }
  | { type: 'alert_ack'; ack: AlertAckView }
  /** recent anonymous trajectories of a tracking camera and its rules' geometry (protocol `tracks`; not stored) */
  | { type: 'tracks'; tracks: Tracks }
  | {
      type: 'passage_action';
      site: string;
      eventId: string;
      ack: PassageAckView | null;
      override: PassageOverrideView | null;
    }
  | { type: 'people_import'; site: string; job: ImportJobView };

/** Progress of a registry import (control-server/src/people/import-jobs.ts): counts only, no names. */
export interface ImportJobView {
  id: string;
  site: string;
  state: 'queued' | 'running' | 'done' | 'failed';
  phase: 'parse' | 'write' | null;
  done: number;
  total: number;
  createdAt: string;
  finishedAt: string | null;
  counts: {
    rows: number;
    inserted: number;
    updated: number;
    unchanged: number;
    departed: number;
    reactivated: number;
    errors: number;
  } | null;
  error: { code: string; message: string } | null;
}

/** A gate passage acknowledged by reception (control-server/src/gate/passage-actions.ts). */
export interface PassageAckView {
  by: string;
  at: string;
  note: string | null;
}

/** A manual override of a gate verdict, with its reason. */
export interface PassageOverrideView {
  decision: 'allow' | 'deny';
  reason: string;
  by: string;
  at: string;
}

/** An acknowledgement of an alert of the supervisors' queue (control-server/src/alerts/alert-service.ts). */
export interface AlertAckView {
  alertId: string;
  site: string;
  kind: string;
  agent: string;
  camera: string | null;
  alertTs: string;
  ackedAt: string;
  ackedBy: string;
  note: string | null;
}

const TYPES = new Set(['hello', 'agent', 'health', 'event', 'alert_ack', 'passage_action', 'people_import', 'tracks']);

/** Parse one frame; null for anything that is not a known message (ignored, never fatal). */
export function parseServerMessage(data: unknown): ServerMessage | null {
  if (typeof data !== 'string') return null;
  let v: unknown;
  try {
    v = JSON.parse(data);
  } catch {
    // a malformed frame is dropped; the next hello re-syncs everything anyway
    return null;
  }
  if (typeof v !== 'object' || v === null) return null;
  const type = (v as { type?: unknown }).type;
  return typeof type === 'string' && TYPES.has(type) ? (v as ServerMessage) : null;
}

/**
 * Every message of one frame: a batch frame (`{"type":"batch","messages":[…]}`, sent to clients that
 * opt in with `?batch=1`) holds several, in order; any other frame is one message. Unknown ones are dropped.
 */
export function parseServerFrame(data: unknown): ServerMessage[] {
  if (typeof data !== 'string') return [];
  let v: unknown;
  try {
    v = JSON.parse(data);
  } catch {
    // a malformed frame is dropped; the next hello re-syncs everything anyway
    return [];
  }
  const known = (m: unknown): m is ServerMessage => {
    const type = typeof m === 'object' && m !== null ? (m as { type?: unknown }).type : undefined;
    return typeof type === 'string' && TYPES.has(type);
  };
  if (typeof v === 'object' && v !== null && (v as { type?: unknown }).type === 'batch') {
    const messages = (v as { messages?: unknown }).messages;
    return Array.isArray(messages) ? messages.filter(known) : [];
  }
  return known(v) ? [v] : [];
}
