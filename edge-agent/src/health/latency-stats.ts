/** Nearest-rank percentile of an unsorted sample (p in 0..100); 0 for an empty sample. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

const MAX_SAMPLES_PER_STAGE = 4096;

/** Per-stage durations over one health interval; `drain()` summarises and starts the next one. */
export class StageLatencies {
  private samples = new Map<string, number[]>();

  record(stage: string, ms: number): void {
    let s = this.samples.get(stage);
    if (!s) this.samples.set(stage, (s = []));
    // bounded: at 30 fps × 4 stages a 60 s interval stays far below this
    if (s.length < MAX_SAMPLES_PER_STAGE) s.push(ms);
  }

  drain(): Record<string, { p50Ms: number; p95Ms: number; count: number }> {
    const out: Record<string, { p50Ms: number; p95Ms: number; count: number }> = {};
    for (const [stage, s] of this.samples) {
      out[stage] = { p50Ms: round2(percentile(s, 50)), p95Ms: round2(percentile(s, 95)), count: s.length };
    }
    this.samples.clear();
    return out;
  }
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
