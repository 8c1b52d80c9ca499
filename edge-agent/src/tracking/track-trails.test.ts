import { decodePayload, encodePayload } from '@portail/protocol';
import { describe, expect, it } from 'vitest';
import { createTrackTrails, footPoint, randomTrailId, tracksPayload } from './track-trails.js';
import { createTrackingPipeline } from './tracking-pipeline.js';

/** A person walking down the frame: a 60×160 box moving 8 px per 100 ms frame. */
const walker = (trackId: string, step: number, x0 = 300) => ({
  trackId,
  box: { x: x0, y: 100 + step * 8, w: 60, h: 160 },
});

function ids(): () => string {
  let n = 0;
  return () => `tr${'abcdefghijklmnopqrstuvwxyz'[n++ % 26]}aaaaa`;
}

describe('track trails (tracks topic)', () => {
  it('samples the foot point of each track, oldest first, with its age at publication', () => {
    const trails = createTrackTrails({ sampleMs: 200, intervalMs: 1_000, newId: ids() });
    for (let i = 0; i <= 10; i++) trails.observe([walker('k2v7k2v7k2v7k2v7', i)], 1_000 + i * 100);
    const out = trails.take(2_000)!;
    expect(out.windowMs).toBe(10_000);
    expect(out.tracks).toHaveLength(1);
    // one point per 200 ms: frames 0, 2, 4, 6, 8, 10
    expect(out.tracks[0]!.points).toEqual([
      [330, 260, 1000],
      [330, 276, 800],
      [330, 292, 600],
      [330, 308, 400],
      [330, 324, 200],
      [330, 340, 0],
    ]);
    expect(footPoint({ x: 10.4, y: 20, w: 5, h: 30.6 })).toEqual({ x: 13, y: 51 });
  });

  it('publishes at most every interval and forgets points older than the window', () => {
    const trails = createTrackTrails({ windowMs: 1_000, intervalMs: 500, sampleMs: 100, newId: ids() });
    trails.observe([walker('a', 0)], 0);
    expect(trails.take(0)?.tracks).toHaveLength(1);
    expect(trails.take(400)).toBeNull();
    trails.observe([walker('b', 0, 100)], 900);
    const later = trails.take(1_500)!;
    // a's only point is 1.5 s old: gone; b's is 0.6 s old
    expect(later.tracks.map((t) => t.points.length)).toEqual([1]);
    expect(later.tracks[0]!.points[0]).toEqual([130, 260, 600]);
    // nothing left at all: an empty list, still published (the tile clears its lines)
    expect(trails.take(3_000)).toEqual({ windowMs: 1_000, tracks: [] });
  });

  it('never publishes the tracker ids, and gives a trail a new id at each rotation', () => {
    const trails = createTrackTrails({ rotateMs: 10_000, intervalMs: 500 });
    trails.observe([walker('mh7jnistiwnmicq3', 0)], 9_000);
    const a = trails.take(9_000)!;
    trails.observe([walker('mh7jnistiwnmicq3', 1)], 9_500);
    const b = trails.take(9_600)!; // same rotation
    trails.observe([walker('mh7jnistiwnmicq3', 2)], 10_500);
    const c = trails.take(11_000)!;
    expect(JSON.stringify([a, b, c])).not.toContain('mh7jnistiwnmicq3');
    expect(a.tracks[0]!.id).toMatch(/^[a-z2-7]{8}$/);
    expect(b.tracks[0]!.id).toBe(a.tracks[0]!.id);
    expect(c.tracks[0]!.id).not.toBe(a.tracks[0]!.id);
    // ids are unique within a payload
    const many = createTrackTrails({ newId: randomTrailId });
    many.observe(
      Array.from({ length: 30 }, (_, i) => walker(`t${i}`, 0, i * 10)),
      0,
    );
    const out = many.take(0)!;
    expect(new Set(out.tracks.map((t) => t.id)).size).toBe(30);
  });

  it('keeps the most recent tracks and points within the protocol bounds', () => {
    const trails = createTrackTrails({ maxTracks: 3, maxPoints: 4, sampleMs: 0, newId: randomTrailId });
    for (let i = 0; i < 10; i++) trails.observe([walker(`t${i}`, i)], i * 10);
    for (let i = 0; i < 10; i++) trails.observe([walker('t9', i)], 100 + i * 10);
    const out = trails.take(200)!;
    expect(out.tracks).toHaveLength(3);
    expect(out.tracks[0]!.points).toHaveLength(4);
  });

  it('builds a payload the protocol accepts, with the geometry of the rules in force', () => {
    const pipeline = createTrackingPipeline({
      rules: {
        zones: [
          {
            id: 'toiture',
            polygon: [
              [0, 0],
              [100, 0],
              [100, 50],
            ],
          },
        ],
        lines: [{ id: 'entry', from: [480, 410], to: [150, 410], allowedDirection: 'out' }],
      },
    });
    const trails = createTrackTrails({ newId: randomTrailId });
    for (let i = 0; i < 20; i++) trails.observe([walker('x', i)], Date.parse('2026-11-22T07:55:00.000Z') + i * 100);
    const payload = tracksPayload({
      site: 'demo-lycee',
      agent: 'hall-1',
      camera: 'hall',
      tsMs: Date.parse('2026-11-22T07:55:02.000Z'),
      frame: { width: 768, height: 432 },
      trails: trails.take(Date.parse('2026-11-22T07:55:02.000Z'))!,
      rules: pipeline.geometry(),
    });
    const wire = encodePayload('tracks', payload);
    const back = decodePayload('tracks', new TextEncoder().encode(wire));
    expect(back.ok).toBe(true);
    expect(payload.rules).toEqual({
      zones: [
        {
          id: 'toiture',
          polygon: [
            [0, 0],
            [100, 0],
            [100, 50],
          ],
        },
      ],
      lines: [{ id: 'entry', from: [480, 410], to: [150, 410], allowedDirection: 'out' }],
    });
    // small: a few hundred bytes per track, far below the 256 KiB limit
    expect(wire.length).toBeLessThan(2_000);
    expect(wire).not.toMatch(/image|embedding|credential/);
  });
});
