/**
 * The site statistics routes' answers (control-server/src/http/routes/site-stats-routes.ts) turned
 * into what the charts draw: uPlot's aligned columns (x first). Pure, tested in node.
 */

export interface PassagesStats {
  times: number[];
  bucketMs: number;
  gates: Array<{ agent: string; camera: string; counts: number[]; refused: number[] }>;
}

export interface LaneDistribution {
  passages: number;
  timed: number;
  untimed: number;
  incomplete: number;
  medianMs: number | null;
  p95Ms: number | null;
  histogram: number[];
}

export interface DecisionTimesStats {
  binsMs: number[];
  badgeOnly: LaneDistribution;
  biometric: LaneDistribution;
}

export interface LineCountStats {
  times: number[];
  bucketMs: number;
  lines: Array<{ agent: string; camera: string; rule: string; in: number[]; out: number[] }>;
}

export interface ChartSeries {
  label: string;
  values: number[];
}

/** x values and one series per column; x in ms since epoch for time charts, bin index for histograms. */
export interface ChartData {
  xs: number[];
  series: ChartSeries[];
}

/** Passages per bucket, one series per gate (agent / camera). */
export function passagesChart(s: PassagesStats): ChartData {
  return {
    xs: s.times,
    series: s.gates.map((g) => ({ label: `${g.agent} / ${g.camera}`, values: g.counts })),
  };
}

/** Bin labels: "< 25 ms", "25–50 ms", …, "≥ 5 s". */
export function binLabels(edgesMs: readonly number[], fmt: (ms: number) => string): string[] {
  const out: string[] = [];
  for (let i = 0; i <= edgesMs.length; i++) {
    if (i === 0) out.push(`< ${fmt(edgesMs[0]!)}`);
    else if (i === edgesMs.length) out.push(`≥ ${fmt(edgesMs[i - 1]!)}`);
    else out.push(`${fmt(edgesMs[i - 1]!)}–${fmt(edgesMs[i]!)}`);
  }
  return out;
}

/** Share of each lane's timed passages per bin (percent), so two lanes of different sizes compare. */
export function decisionChart(s: DecisionTimesStats, labels: { badgeOnly: string; biometric: string }): ChartData {
  const share = (l: LaneDistribution) =>
    l.histogram.map((n) => (l.timed > 0 ? Math.round((n / l.timed) * 1000) / 10 : 0));
  return {
    xs: s.badgeOnly.histogram.map((_, i) => i),
    series: [
      { label: labels.badgeOnly, values: share(s.badgeOnly) },
      { label: labels.biometric, values: share(s.biometric) },
    ],
  };
}

/** Crossings per bucket, cumulated over the range: one "in" and one "out" series per line. */
export function lineCountsChart(s: LineCountStats, labels: { in: string; out: string }): ChartData {
  const cumulate = (v: number[]) => {
    let sum = 0;
    return v.map((n) => (sum += n));
  };
  return {
    xs: s.times,
    series: s.lines.flatMap((l) => [
      { label: `${l.camera} / ${l.rule} — ${labels.in}`, values: cumulate(l.in) },
      { label: `${l.camera} / ${l.rule} — ${labels.out}`, values: cumulate(l.out) },
    ]),
  };
}

/** Midnight of today in `timeZone`, as an ISO time (the start of "the day" for line counts). */
export function startOfDayIso(nowMs: number, timeZone = 'Europe/Paris'): string {
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(new Date(nowMs));
  const get = (t: string) => Number(parts.find((p) => p.type === t)!.value);
  // how far the zone's wall clock is from UTC now; midnight is that many ms before the wall-clock time
  const wallMs = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  const offsetMs = wallMs - Math.floor(nowMs / 1000) * 1000;
  return new Date(Date.UTC(get('year'), get('month') - 1, get('day')) - offsetMs).toISOString();
}
