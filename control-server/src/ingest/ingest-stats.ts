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
  /** messages of the contract that the server does not ingest (its own `config`) */
  ignored: number;
  rejected: Record<RejectReason, number>;
  /** database failures while storing a valid message */
  storeErrors: number;
  lastMessageAt: string | null;
}

export function createIngestStats(): IngestStats {
  return {
    received: 0,
    stored: 0,
    duplicates: 0,
    statusUpdates: 0,
    healthUpdates: 0,
    ignored: 0,
    rejected: { unknown_topic: 0, too_large: 0, invalid_json: 0, invalid_schema: 0, topic_mismatch: 0 },
    storeErrors: 0,
    lastMessageAt: null,
  };
}

export function cloneIngestStats(s: IngestStats): IngestStats {
  return { ...s, rejected: { ...s.rejected } };
}
