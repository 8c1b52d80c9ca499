import type { Database } from 'better-sqlite3';
import { equalServiceByGate, type GateEqualService, type GateTimingInput } from './passage-timing.js';

/**
 * Equal-service evidence: time-to-verdict of badge-only and biometric passages, per gate (agent +
 * camera) and for the whole site, over a period. Students who refuse biometrics must get the same
 * lane at the same speed; these figures are what shows it (or shows it is not so).
 */

export const TIMING_DEFINITION =
  'time-to-verdict from the frame in which the credential was read: badge-only = timingsMs.credential; ' +
  'biometric = credential + window + compare (a biometric passage without window was closed early: incomplete, not timed); ' +
  'median of the timed passages, p95 by nearest rank';

export interface EqualServiceReport {
  site: string;
  /** ISO times, edge time of the events: [from, to) */
  from: string;
  to: string;
  definition: string;
  gates: GateEqualService[];
  all: Omit<GateEqualService, 'agent' | 'camera'>;
  /** passages per decision, per lane */
  decisions: { badgeOnly: Record<string, number>; biometric: Record<string, number> };
}

interface Row {
  ts: string;
  agent: string;
  camera: string;
  biometric: number | null;
  decision: string | null;
  timings: string | null;
}

/** Access events of `site` with `from <= ts < to`, as the timing inputs (the JSON is read in SQL). */
export function* accessTimingRows(
  db: Database,
  site: string,
  from: string,
  to: string,
): Generator<GateTimingInput & { ts: string; decision: string }> {
  const rows = db
    .prepare<[string, string, string], Row>(
      `SELECT ts, agent, camera, json_extract(payload, '$.biometric') AS biometric,
              json_extract(payload, '$.decision') AS decision, json_extract(payload, '$.timingsMs') AS timings
       FROM events WHERE kind = 'access' AND site = ? AND ts >= ? AND ts < ?`,
    )
    .iterate(site, from, to);
  for (const r of rows) {
    yield {
      ts: r.ts,
      agent: r.agent,
      camera: r.camera,
      biometric: r.biometric === 1,
      decision: r.decision ?? 'unknown',
      ...(r.timings ? { timingsMs: JSON.parse(r.timings) as Record<string, number> } : {}),
    };
  }
}

export function equalServiceReport(db: Database, site: string, from: string, to: string): EqualServiceReport {
  const rows = [...accessTimingRows(db, site, from, to)];
  const decisions: EqualServiceReport['decisions'] = { badgeOnly: {}, biometric: {} };
  for (const r of rows) {
    const lane = r.biometric ? decisions.biometric : decisions.badgeOnly;
    lane[r.decision] = (lane[r.decision] ?? 0) + 1;
  }
  return { site, from, to, definition: TIMING_DEFINITION, ...equalServiceByGate(rows), decisions };
}
