import type { Health } from '@portail/protocol';
import type { AgentRecord } from '../repositories/agent-repository.js';
import type { EventKind, StoredEvent } from '../repositories/event-repository.js';

/** What the server pushes to consoles over /ws (besides the `hello` snapshot). */
export type LiveMessage =
  | { type: 'agent'; agent: AgentRecord }
  | { type: 'health'; site: string; agent: string; health: Health }
  | { type: 'event'; kind: EventKind; event: StoredEvent };

export type LiveListener = (msg: LiveMessage) => void;

export interface LiveBus {
  publish(msg: LiveMessage): void;
  /** returns the unsubscribe function */
  subscribe(listener: LiveListener): () => void;
}

/** In-process fan-out from ingest to the WebSocket hub; synchronous, so order is preserved. */
export function createLiveBus(onListenerError: (err: unknown) => void = () => undefined): LiveBus {
  const listeners = new Set<LiveListener>();
  return {
    publish(msg) {
      for (const l of listeners) {
        try {
          l(msg);
        } catch (err) {
          // one broken listener must not stop ingest nor the other listeners
          onListenerError(err);
        }
      }
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
