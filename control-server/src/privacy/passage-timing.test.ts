import { describe, expect, it } from 'vitest';
import { equalServiceByGate, laneStats, median, nearestRank, passageTiming } from './passage-timing.js';

describe('passage timing', () => {
  it('times a badge-only passage by its credential check', () => {
    expect(passageTiming({ biometric: false, timingsMs: { credential: 1.5 } })).toEqual({
      lane: 'badgeOnly',
      timed: true,
      ms: 1.5,
    });
  });

  it('times a biometric passage as credential + window + compare', () => {
    expect(
      passageTiming({ biometric: true, timingsMs: { credential: 2, window: 800, compare: 0.5, face: 30, frames: 9 } }),
    ).toEqual({ lane: 'biometric', timed: true, ms: 802.5 });
  });

  it('does not time a biometric passage closed early (no window) nor an event without timings', () => {
    expect(passageTiming({ biometric: true, timingsMs: { credential: 2, compare: 0.4 } })).toEqual({
      lane: 'biometric',
      timed: false,
      why: 'incomplete',
    });
    expect(passageTiming({ biometric: false })).toEqual({ lane: 'badgeOnly', timed: false, why: 'untimed' });
    expect(passageTiming({ biometric: true, timingsMs: { window: 700 } })).toEqual({
      lane: 'biometric',
      timed: false,
      why: 'untimed',
    });
  });

  it('median and nearest-rank p95', () => {
    expect(median([1, 2, 3])).toBe(2);
    expect(median([1, 2, 3, 4])).toBe(2.5);
    const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(nearestRank(hundred, 95)).toBe(95);
    expect(nearestRank(hundred, 100)).toBe(100);
    expect(nearestRank([7], 95)).toBe(7);
    // 20 values: rank ceil(0.95 × 20) = 19
    expect(
      nearestRank(
        Array.from({ length: 20 }, (_, i) => i * 10),
        95,
      ),
    ).toBe(180);
    expect(() => median([])).toThrow(RangeError);
  });

  it('lane statistics count what was not timed apart', () => {
    const s = laneStats([
      { lane: 'biometric', timed: true, ms: 900 },
      { lane: 'biometric', timed: true, ms: 700 },
      { lane: 'biometric', timed: false, why: 'incomplete' },
      { lane: 'biometric', timed: false, why: 'untimed' },
    ]);
    expect(s).toEqual({ passages: 4, timed: 2, untimed: 1, incomplete: 1, medianMs: 800, p95Ms: 900 });
    expect(laneStats([])).toEqual({ passages: 0, timed: 0, untimed: 0, incomplete: 0, medianMs: null, p95Ms: null });
  });

  it('groups by gate and compares the lanes', () => {
    const r = equalServiceByGate([
      { agent: 'gate-2', camera: 'cam', biometric: false, timingsMs: { credential: 2 } },
      { agent: 'gate-1', camera: 'cam', biometric: false, timingsMs: { credential: 1 } },
      { agent: 'gate-1', camera: 'cam', biometric: false, timingsMs: { credential: 3 } },
      { agent: 'gate-1', camera: 'cam', biometric: true, timingsMs: { credential: 2, window: 6, compare: 0 } },
    ]);
    expect(r.gates.map((g) => g.agent)).toEqual(['gate-1', 'gate-2']);
    const g1 = r.gates[0]!;
    expect(g1.badgeOnly.medianMs).toBe(2);
    expect(g1.biometric.medianMs).toBe(8);
    expect(g1.medianRatio).toBe(4);
    expect(r.gates[1]!.biometric.passages).toBe(0);
    expect(r.gates[1]!.medianRatio).toBeNull();
    expect(r.all.badgeOnly).toMatchObject({ passages: 3, medianMs: 2, p95Ms: 3 });
    expect(r.all.biometric).toMatchObject({ passages: 1, medianMs: 8 });
  });
});
