import type { Tracks } from '@portail/protocol';
import { describe, expect, it } from 'vitest';
import { buildOverlay, lineArrows, MIN_OPACITY, opacityOf, STALE_AFTER_MS } from './track-overlay.js';

const tracks: Tracks = {
  v: 1,
  site: 'lycee-a',
  agent: 'hall-1',
  camera: 'hall',
  ts: '2026-11-22T07:55:02.000Z',
  frame: { width: 768, height: 432 },
  windowMs: 10_000,
  tracks: [
    {
      id: 'abcdefgh',
      points: [
        [330, 260, 9_000],
        [330, 300, 4_000],
        [331, 340, 0],
      ],
    },
    { id: 'ijklmnop', points: [[100, 100, 9_900]] },
  ],
  rules: {
    zones: [
      {
        id: 'toiture',
        polygon: [
          [0, 0],
          [90, 0],
          [90, 30],
        ],
      },
    ],
    lines: [{ id: 'entry', from: [480, 410], to: [150, 410], allowedDirection: 'out' }],
  },
};

describe('camera tile overlay', () => {
  it('fades linearly with age, never quite to nothing inside the window', () => {
    expect(opacityOf(0, 10_000)).toBe(1);
    expect(opacityOf(10_000, 10_000)).toBe(MIN_OPACITY);
    expect(opacityOf(5_000, 10_000)).toBeCloseTo(0.54, 2);
    expect(opacityOf(-5, 10_000)).toBe(1);
  });

  it('draws zones, directed lines with their allowed way, and trails in frame pixels', () => {
    const o = buildOverlay(tracks, 0);
    expect([o.width, o.height]).toEqual([768, 432]);
    expect(o.zones).toEqual([{ id: 'toiture', points: '0,0 90,0 90,30', label: { x: 60, y: 10 } }]);
    expect(o.lines[0]).toMatchObject({ id: 'entry', x1: 480, y1: 410, x2: 150, y2: 410, allowedDirection: 'out' });
    expect(o.trails.map((t) => t.id)).toEqual(['abcdefgh', 'ijklmnop']);
    const [a] = o.trails;
    expect(a!.segments).toHaveLength(2);
    expect(a!.segments[0]!.opacity).toBeLessThan(a!.segments[1]!.opacity);
    expect(a!.head).toEqual({ x: 331, y: 340, opacity: 1 });
  });

  it('ages trails between two messages, drops points past the window, and everything once stale', () => {
    const o = buildOverlay(tracks, 1_500);
    // 1.5 s later the oldest point of the first trail (10.5 s) and the second trail (11.4 s) are gone
    expect(o.trails.map((t) => t.id)).toEqual(['abcdefgh']);
    expect(o.trails[0]!.segments).toHaveLength(1);
    expect(buildOverlay(tracks, STALE_AFTER_MS + 1).trails).toEqual([]);
    // the rules stay drawn
    expect(buildOverlay(tracks, STALE_AFTER_MS + 1).lines).toHaveLength(1);
  });

  it('points arrows from the left-hand side to the right-hand side of from→to for "in"', () => {
    // from (0,0) to (10,0) along +x with y down: the right-hand side is +y
    const [inArrow] = lineArrows([0, 0], [10, 0], 'in', 5);
    expect(inArrow).toEqual([5, -5, 5, 5]);
    const [outArrow] = lineArrows([0, 0], [10, 0], 'out', 5);
    expect(outArrow).toEqual([5, 5, 5, -5]);
    expect(lineArrows([0, 0], [10, 0], 'both', 5)).toHaveLength(2);
  });
});
