export const REJECT_REASONS = [
  'unknown_topic',
  'too_large',
  'invalid_json',
  'invalid_schema',
  'topic_mismatch',
] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

/** In-memory ingest counters since start (served by GET /api/stats). */
export interface IngestStats {
  /** every MQTT message handed to ingest */
  received: number;
  /** events stored for the first time */
  stored: number;
  /** events whose id was already stored (outbox replays): not an error */
  duplicates: number;
  statusUpdates: number;
  healthUpdates: number;
  /** `config/state` and `sync/state` answers applied */
  stateUpdates: number;
  /** messages of the contract that the server does not ingest (its own `config`) */
  ignored: number;
  rejected: Record<RejectReason, number>;
  /** messages of a site this instance does not own (`sites` in the config): not stored */
  foreignSite: number;
  /** database failures while storing a valid message (not acknowledged: the broker delivers it again) */
  storeErrors: number;
  /**
   * events stored whose edge `ts` is far from server time (a wrong agent clock): retention deletes by
   * edge time, so such an event would be purged too early or kept too long. Flagged, still stored.
   */
  clockSkew: { future: number; past: number };
  lastMessageAt: string | null;
}

export function createIngestStats(): IngestStats {
  return {
    received: 0,
    stored: 0,
    duplicates: 0,
    statusUpdates: 0,
    healthUpdates: 0,
    stateUpdates: 0,
    ignored: 0,
    rejected: { unknown_topic: 0, too_large: 0, invalid_json: 0, invalid_schema: 0, topic_mismatch: 0 },
    foreignSite: 0,
    storeErrors: 0,
    clockSkew: { future: 0, past: 0 },
    lastMessageAt: null,
  };
}

export function cloneIngestStats(s: IngestStats): IngestStats {
  return { ...s, rejected: { ...s.rejected }, clockSkew: { ...s.clockSkew } };
}
