import type { Health, Tracks } from '@portail/protocol';
import type { AlertAck } from '../alerts/alert-service.js';
import type { ImportJobProgress } from '../people/import-jobs.js';
import type { AgentRecord } from '../repositories/agent-repository.js';
import type { EventKind, StoredEvent } from '../repositories/event-repository.js';
import type { PassageAck, PassageOverride } from '../gate/passage-actions.js';

/** What the server pushes to consoles over /ws (besides the `hello` snapshot). */
export type LiveMessage =
  | { type: 'agent'; agent: AgentRecord }
  | { type: 'health'; site: string; agent: string; health: Health }
  | { type: 'event'; kind: EventKind; event: StoredEvent }
  /** an alert of the supervisors' queue was acknowledged: every console of the site drops it */
  | { type: 'alert_ack'; ack: AlertAck }
  /** recent anonymous trajectories of a tracking camera (not stored; supervisors' camera tiles) */
  | { type: 'tracks'; tracks: Tracks }
  /** a gate passage was acknowledged or overridden (gate/): its state, for every gate console of the site */
  | { type: 'passage_action'; site: string; eventId: string; ack: PassageAck | null; override: PassageOverride | null }
  /** progress of a registry import (people/import-jobs.ts; counts only, no names), to who may import at the site */
  | { type: 'people_import'; site: string; job: ImportJobProgress };

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
