/**
 * Shared pieces of the load tool (`npm run load`): the traffic shape, a latency histogram and the
 * messages the orchestrator and its child processes exchange over IPC.
 */

export type Shape = 'peak' | 'flat';

/**
 * Offered rate at time `tS` of a run of `durationS`, as a fraction of the peak. `peak` is a morning
 * arrival: a ramp from 10 % to the peak over the first 30 % of the run (buses arriving, 07:30–07:50),
 * the peak for 40 % (the bell), a ramp down to 10 % over the last 30 %. `flat` is the peak throughout.
 */
export function rateFraction(shape: Shape, tS: number, durationS: number): number {
  if (tS < 0 || tS >= durationS) return 0;
  if (shape === 'flat') return 1;
  const u = tS / durationS;
  if (u < 0.3) return 0.1 + 0.9 * (u / 0.3);
  if (u < 0.7) return 1;
  return 0.1 + 0.9 * ((1 - u) / 0.3);
}

/** Latency histogram with 0.1 ms buckets up to 10 s, then one overflow bucket. */
export class LatencyHistogram {
  static readonly BUCKET_MS = 0.1;
  private readonly buckets = new Uint32Array(100_000);
  private overflow = 0;
  count = 0;
  private maxMs = 0;
  private sumMs = 0;

  record(ms: number): void {
    const v = ms < 0 ? 0 : ms;
    const i = Math.floor(v / LatencyHistogram.BUCKET_MS);
    if (i < this.buckets.length) this.buckets[i] = this.buckets[i]! + 1;
    else this.overflow += 1;
    this.count += 1;
    this.sumMs += v;
    if (v > this.maxMs) this.maxMs = v;
  }

  merge(other: LatencyHistogramJson): void {
    for (const [i, n] of other.b) this.buckets[i] = this.buckets[i]! + n;
    this.overflow += other.o;
    this.count += other.n;
    this.sumMs += other.s;
    if (other.m > this.maxMs) this.maxMs = other.m;
  }

  /** p in 0..100; null when empty */
  percentile(p: number): number | null {
    if (this.count === 0) return null;
    const rank = Math.max(1, Math.ceil((p / 100) * this.count));
    let seen = 0;
    for (let i = 0; i < this.buckets.length; i++) {
      seen += this.buckets[i]!;
      if (seen >= rank) return round((i + 1) * LatencyHistogram.BUCKET_MS);
    }
    return round(this.maxMs);
  }

  summary(): { count: number; p50Ms: number | null; p90Ms: number | null; p99Ms: number | null; maxMs: number | null; meanMs: number | null } {
    return {
      count: this.count,
      p50Ms: this.percentile(50),
      p90Ms: this.percentile(90),
      p99Ms: this.percentile(99),
      maxMs: this.count ? round(this.maxMs) : null,
      meanMs: this.count ? round(this.sumMs / this.count) : null,
    };
  }

  toJSON(): LatencyHistogramJson {
    const b: Array<[number, number]> = [];
    for (let i = 0; i < this.buckets.length; i++) if (this.buckets[i]) b.push([i, this.buckets[i]!]);
    return { b, o: this.overflow, n: this.count, s: this.sumMs, m: this.maxMs };
  }
}

export interface LatencyHistogramJson {
  b: Array<[number, number]>;
  o: number;
  n: number;
  s: number;
  m: number;
}

export function round(x: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export function median(xs: readonly number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** What a child process reports about its own cost. */
export interface ProcessCost {
  cpuUserMs: number;
  cpuSystemMs: number;
  wallMs: number;
  rssBytes: number;
  /** event loop utilisation 0..1 over the window */
  elu: number;
  /** event loop delay p99 over the window, ms */
  loopDelayP99Ms: number;
}

export const execArgv = ['--conditions=portail-src', '--import', 'tsx'];
