import type { AccessEvent } from '@portail/protocol';

/**
 * Time-to-verdict of a passage, from the timings the edge agent puts in each access event
 * (`timingsMs`, see edge-agent/src/verification/gate-verifier.ts). Pure functions.
 *
 * Definition (the same clock start for both lanes: the frame in which the credential was read):
 * - badge-only passage (`biometric: false`): `credential`, the signature, validity and revocation
 *   check, after which the verdict is published at once;
 * - biometric passage (`biometric: true`): `credential` + `window` + `compare`, i.e. the check,
 *   then the capture window from the frame of the credential to the frame that closed it (faces
 *   analysed meanwhile), then the 1:1 comparison. A passage closed early (a new credential, the
 *   agent stopping) carries no `window`: it is counted as `incomplete`, not timed.
 * QR decoding happens before both and is the same for both lanes, so it is left out of both.
 * Events without `timingsMs` (older agents) are counted as `untimed`.
 */

export type Lane = 'badgeOnly' | 'biometric';

export type PassageTiming =
  { lane: Lane; timed: true; ms: number } | { lane: Lane; timed: false; why: 'untimed' | 'incomplete' };

type TimingInput = Pick<AccessEvent, 'biometric' | 'timingsMs'>;

const finite = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x) && x >= 0;

export function passageTiming(e: TimingInput): PassageTiming {
  const lane: Lane = e.biometric ? 'biometric' : 'badgeOnly';
  const t = e.timingsMs;
  if (!t || !finite(t.credential)) return { lane, timed: false, why: 'untimed' };
  if (!e.biometric) return { lane, timed: true, ms: t.credential };
  if (!finite(t.window)) return { lane, timed: false, why: 'incomplete' };
  return { lane, timed: true, ms: t.credential + t.window + (finite(t.compare) ? t.compare : 0) };
}

/**
 * Nearest-rank percentile (the smallest value with at least p % of the values at or below it): a
 * value that was measured, never an interpolation. `values` sorted ascending, non-empty.
 */
export function nearestRank(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) throw new RangeError('no values');
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

/** Median as the mean of the two middle values for an even count (the usual definition). */
export function median(sorted: readonly number[]): number {
  if (sorted.length === 0) throw new RangeError('no values');
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export interface LaneStats {
  /** passages of this lane */
  passages: number;
  /** passages with a time-to-verdict */
  timed: number;
  untimed: number;
  incomplete: number;
  medianMs: number | null;
  p95Ms: number | null;
}

const round2 = (x: number) => Math.round(x * 100) / 100;

export function laneStats(timings: readonly PassageTiming[]): LaneStats {
  const ms = timings
    .filter((t): t is Extract<PassageTiming, { timed: true }> => t.timed)
    .map((t) => t.ms)
    .sort((a, b) => a - b);
  return {
    passages: timings.length,
    timed: ms.length,
    untimed: timings.filter((t) => !t.timed && t.why === 'untimed').length,
    incomplete: timings.filter((t) => !t.timed && t.why === 'incomplete').length,
    medianMs: ms.length ? round2(median(ms)) : null,
    p95Ms: ms.length ? round2(nearestRank(ms, 95)) : null,
  };
}

export interface GateTimingInput extends TimingInput {
  agent: string;
  camera: string;
}

export interface GateEqualService {
  agent: string;
  camera: string;
  badgeOnly: LaneStats;
  biometric: LaneStats;
  /** biometric median / badge-only median; null when a lane has no timed passage */
  medianRatio: number | null;
}

function compare(badge: LaneStats, bio: LaneStats): number | null {
  if (badge.medianMs === null || bio.medianMs === null || badge.medianMs === 0) return null;
  return Math.round((bio.medianMs / badge.medianMs) * 1000) / 1000;
}

/** Per gate (agent + camera), then all gates together. */
export function equalServiceByGate(events: Iterable<GateTimingInput>): {
  gates: GateEqualService[];
  all: Omit<GateEqualService, 'agent' | 'camera'>;
} {
  const byGate = new Map<string, { agent: string; camera: string; timings: PassageTiming[] }>();
  const all: PassageTiming[] = [];
  for (const e of events) {
    const key = `${e.agent}\u0000${e.camera}`;
    let g = byGate.get(key);
    if (!g) byGate.set(key, (g = { agent: e.agent, camera: e.camera, timings: [] }));
    const t = passageTiming(e);
    g.timings.push(t);
    all.push(t);
  }
  const summarise = (ts: readonly PassageTiming[]) => {
    const badgeOnly = laneStats(ts.filter((t) => t.lane === 'badgeOnly'));
    const biometric = laneStats(ts.filter((t) => t.lane === 'biometric'));
    return { badgeOnly, biometric, medianRatio: compare(badgeOnly, biometric) };
  };
  const gates = [...byGate.values()]
    .sort((a, b) => a.agent.localeCompare(b.agent) || a.camera.localeCompare(b.camera))
    .map((g) => ({ agent: g.agent, camera: g.camera, ...summarise(g.timings) }));
  return { gates, all: summarise(all) };
}
