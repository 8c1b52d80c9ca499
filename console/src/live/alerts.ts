import type { LiveEvent } from './wire.js';

/** How many alerts the queue keeps in memory; older ones stay in the server's event history. */
export const MAX_ALERTS = 100;

/** Movement alerts and the gate verdicts that need a person to look: the alert queue's content. */
export const ALERT_KINDS = ['tailgating', 'wrong_way', 'zone_entry', 'spoof_suspected', 'mismatch'] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];

/** How loud an alert is shown: `high` for a likely intrusion or fraud, `medium` for a rule breach to look at. */
export type AlertSeverity = 'high' | 'medium';

const SEVERITY: Record<AlertKind, AlertSeverity> = {
  tailgating: 'high',
  spoof_suspected: 'high',
  mismatch: 'high',
  wrong_way: 'medium',
  zone_entry: 'medium',
};

export function alertSeverity(kind: AlertKind): AlertSeverity {
  return SEVERITY[kind];
}

/**
 * The alert kind of an event, or null when it is not one. A `line_crossing` or `line_counts` is
 * normal traffic and an access refusal for a revoked or unknown badge is handled at the gate: they
 * stay in the event list only.
 */
export function alertKindOf(e: LiveEvent): AlertKind | null {
  switch (e.kind) {
    case 'movement':
      return e.payload.kind === 'tailgating' || e.payload.kind === 'wrong_way' || e.payload.kind === 'zone_entry'
        ? e.payload.kind
        : null;
    case 'access':
      return e.payload.decision === 'mismatch' || e.payload.decision === 'spoof_suspected' ? e.payload.decision : null;
    case 'camera':
      return null;
  }
}
