import type { AccessEvent, CameraEvent, Health, MovementEvent, Status } from '@portail/protocol';

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
  lastSeen: string | null;
  updatedAt: string;
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
  | { type: 'hello'; serverTime: string; agents: AgentView[]; events: LiveEvent[] }
  | { type: 'agent'; agent: AgentView }
  | { type: 'health'; site: string; agent: string; health: Health }
  | { type: 'event'; kind: EventKind; event: LiveEvent };

const TYPES = new Set(['hello', 'agent', 'health', 'event']);

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
