import type { Database } from 'better-sqlite3';
import { laneStats, passageTiming, type Lane, type LaneStats, type PassageTiming } from '../privacy/passage-timing.js';

/**
 * Aggregates for the live view's charts: passages per gate per time bucket, the time-to-verdict
 * distribution of badge-only and biometric passages, line crossings per line per bucket. Counts
 * only: no event id, no credential id, no track id leaves these functions.
 */

export interface TimeRange {
  fromIso: string;
  toIso: string;
}

export interface BucketSeries {
  /** bucket starts, ms since epoch, every bucket of the range (empty ones included) */
  times: number[];
  bucketMs: number;
}

export interface GatePassages {
  agent: string;
  camera: string;
  /** passages (access events) per bucket, aligned with `times` */
  counts: number[];
  /** refusals among them (mismatch, spoof suspected, revoked, unknown, expired, no face, low quality) */
  refused: number[];
}

export interface LineSeries {
  agent: string;
  camera: string;
  rule: string;
  in: number[];
  out: number[];
}

/** Upper edges of the decision-time histogram bins (ms); the last bin is open-ended. */
export const DECISION_TIME_BINS_MS = [25, 50, 100, 250, 500, 750, 1000, 1500, 2000, 3000, 5000] as const;

export interface LaneDistribution extends LaneStats {
  /** timed passages per bin: `DECISION_TIME_BINS_MS.length + 1` counts, the last one above the last edge */
  histogram: number[];
}

export interface SiteStats {
  passages(site: string, range: TimeRange, bucketMs: number): BucketSeries & { gates: GatePassages[] };
  decisionTimes(
    site: string,
    range: TimeRange,
  ): { binsMs: readonly number[]; badgeOnly: LaneDistribution; biometric: LaneDistribution };
  lineCrossings(site: string, range: TimeRange, bucketMs: number): BucketSeries & { lines: LineSeries[] };
}

/** Bucket starts covering [from, to): aligned on multiples of the bucket (UTC), at most `max`. */
export function bucketStarts(range: TimeRange, bucketMs: number, max = 2_000): number[] {
  const from = Math.floor(Date.parse(range.fromIso) / bucketMs) * bucketMs;
  const to = Date.parse(range.toIso);
  const out: number[] = [];
  for (let t = from; t < to && out.length < max; t += bucketMs) out.push(t);
  return out;
}

export function histogramOf(ms: readonly number[], edges: readonly number[] = DECISION_TIME_BINS_MS): number[] {
  const h = new Array<number>(edges.length + 1).fill(0);
  for (const v of ms) {
    const i = edges.findIndex((e) => v < e);
    h[i < 0 ? edges.length : i]! += 1;
  }
  return h;
}

/** Lane distributions from the timings of the passages (pure). */
export function decisionDistribution(timings: readonly PassageTiming[]): Record<Lane, LaneDistribution> {
  const of = (lane: Lane): LaneDistribution => {
    const ts = timings.filter((t) => t.lane === lane);
    const ms = ts.flatMap((t) => (t.timed ? [t.ms] : []));
    return { ...laneStats(ts), histogram: histogramOf(ms) };
  };
  return { badgeOnly: of('badgeOnly'), biometric: of('biometric') };
}

const ACCEPTED = new Set(['accepted', 'confirmed']);

export function createSiteStats(db: Database): SiteStats {
  // edge time in ms: `ts` is stored as ISO 8601 UTC with milliseconds. The bucket index is cast:
  // better-sqlite3 binds JS numbers as REAL, so the division would not be an integer one
  const tsMs = `(CAST(strftime('%s', ts) AS INTEGER) * 1000 + CAST(substr(ts, 21, 3) AS INTEGER))`;
  const passagesStmt = db.prepare<
    [number, number, string, string, string],
    {
      agent: string;
      camera: string;
      decision: string;
      b: number;
      n: number;
    }
  >(
    `SELECT agent, camera, json_extract(payload, '$.decision') AS decision, CAST((${tsMs} - ?) / ? AS INTEGER) AS b, count(*) AS n
     FROM events WHERE site = ? AND kind = 'access' AND ts >= ? AND ts < ?
     GROUP BY agent, camera, decision, b`,
  );
  const timingsStmt = db.prepare<[string, string, string], { biometric: number; timings: string | null }>(
    `SELECT json_extract(payload, '$.biometric') AS biometric, json_extract(payload, '$.timingsMs') AS timings
     FROM events WHERE site = ? AND kind = 'access' AND ts >= ? AND ts < ?`,
  );
  const linesStmt = db.prepare<
    [number, number, string, string, string],
    {
      agent: string;
      camera: string;
      rule: string;
      direction: string | null;
      b: number;
      n: number;
    }
  >(
    `SELECT agent, camera, json_extract(payload, '$.rule') AS rule, json_extract(payload, '$.direction') AS direction,
            CAST((${tsMs} - ?) / ? AS INTEGER) AS b, count(*) AS n
     FROM events WHERE site = ? AND kind = 'movement' AND ts >= ? AND ts < ?
       AND json_extract(payload, '$.kind') = 'line_crossing'
     GROUP BY agent, camera, rule, direction, b`,
  );

  return {
    passages(site, range, bucketMs) {
      const times = bucketStarts(range, bucketMs);
      const gates = new Map<string, GatePassages>();
      if (times.length === 0) return { times, bucketMs, gates: [] };
      for (const r of passagesStmt.all(times[0]!, bucketMs, site, range.fromIso, range.toIso)) {
        if (r.b < 0 || r.b >= times.length) continue;
        const key = `${r.agent}/${r.camera}`;
        let g = gates.get(key);
        if (!g) {
          g = { agent: r.agent, camera: r.camera, counts: times.map(() => 0), refused: times.map(() => 0) };
          gates.set(key, g);
        }
        g.counts[r.b]! += r.n;
        if (!ACCEPTED.has(r.decision)) g.refused[r.b]! += r.n;
      }
      const sorted = [...gates.values()].sort(
        (a, b) => a.agent.localeCompare(b.agent) || a.camera.localeCompare(b.camera),
      );
      return { times, bucketMs, gates: sorted };
    },

    decisionTimes(site, range) {
      const timings = timingsStmt.all(site, range.fromIso, range.toIso).map((r) =>
        passageTiming({
          biometric: r.biometric === 1,
          ...(r.timings ? { timingsMs: JSON.parse(r.timings) as never } : {}),
        }),
      );
      return { binsMs: DECISION_TIME_BINS_MS, ...decisionDistribution(timings) };
    },

    lineCrossings(site, range, bucketMs) {
      const times = bucketStarts(range, bucketMs);
      const lines = new Map<string, LineSeries>();
      if (times.length === 0) return { times, bucketMs, lines: [] };
      for (const r of linesStmt.all(times[0]!, bucketMs, site, range.fromIso, range.toIso)) {
        if (r.b < 0 || r.b >= times.length) continue;
        const key = `${r.agent}/${r.camera}/${r.rule}`;
        let l = lines.get(key);
        if (!l) {
          l = { agent: r.agent, camera: r.camera, rule: r.rule, in: times.map(() => 0), out: times.map(() => 0) };
          lines.set(key, l);
        }
        if (r.direction === 'out') l.out[r.b]! += r.n;
        else l.in[r.b]! += r.n;
      }
      const sorted = [...lines.values()].sort(
        (a, b) => a.agent.localeCompare(b.agent) || a.camera.localeCompare(b.camera) || a.rule.localeCompare(b.rule),
      );
      return { times, bucketMs, lines: sorted };
    },
  };
}
