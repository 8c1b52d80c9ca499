import { describe, expect, it } from 'vitest';
import { binLabels, decisionChart, lineCountsChart, passagesChart, startOfDayIso } from './chart-data.js';

describe('chart data', () => {
  it('makes one passages series per gate, aligned on the buckets', () => {
    const d = passagesChart({
      times: [0, 300_000],
      bucketMs: 300_000,
      gates: [{ agent: 'gate-1', camera: 'entrance', counts: [3, 1], refused: [1, 0] }],
    });
    expect(d).toEqual({ xs: [0, 300_000], series: [{ label: 'gate-1 / entrance', values: [3, 1] }] });
  });

  it('compares the lanes as shares of their timed passages', () => {
    const lane = (histogram: number[], timed: number) => ({
      passages: timed,
      timed,
      untimed: 0,
      incomplete: 0,
      medianMs: null,
      p95Ms: null,
      histogram,
    });
    const d = decisionChart(
      { binsMs: [25, 1000], badgeOnly: lane([4, 0, 0], 4), biometric: lane([0, 1, 2], 3) },
      { badgeOnly: 'badge', biometric: 'bio' },
    );
    expect(d.xs).toEqual([0, 1, 2]);
    expect(d.series).toEqual([
      { label: 'badge', values: [100, 0, 0] },
      { label: 'bio', values: [0, 33.3, 66.7] },
    ]);
    expect(
      decisionChart(
        { binsMs: [25], badgeOnly: lane([0, 0], 0), biometric: lane([0, 0], 0) },
        { badgeOnly: 'b', biometric: 'f' },
      ).series[0]!.values,
    ).toEqual([0, 0]);
    expect(binLabels([25, 1000], (ms) => `${ms} ms`)).toEqual(['< 25 ms', '25 ms–1000 ms', '≥ 1000 ms']);
  });

  it('cumulates line crossings over the day, in and out apart', () => {
    const d = lineCountsChart(
      {
        times: [0, 1, 2],
        bucketMs: 1,
        lines: [{ agent: 'a', camera: 'hall', rule: 'entry', in: [1, 0, 2], out: [0, 1, 0] }],
      },
      { in: 'entrées', out: 'sorties' },
    );
    expect(d.series).toEqual([
      { label: 'hall / entry — entrées', values: [1, 1, 3] },
      { label: 'hall / entry — sorties', values: [0, 1, 1] },
    ]);
  });

  it('finds midnight in Paris in winter and summer time', () => {
    expect(startOfDayIso(Date.parse('2026-11-22T07:55:00.000Z'))).toBe('2026-11-21T23:00:00.000Z');
    expect(startOfDayIso(Date.parse('2026-07-01T21:30:00.000Z'))).toBe('2026-06-30T22:00:00.000Z');
    // 23:30 UTC is already the next day in Paris
    expect(startOfDayIso(Date.parse('2026-11-22T23:30:00.000Z'))).toBe('2026-11-22T23:00:00.000Z');
  });
});
