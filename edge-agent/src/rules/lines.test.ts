import { describe, expect, it } from 'vitest';
import { createByteTracker } from '../tracking/byte-tracker.js';
import type { TrackStatus, TrackUpdate } from '../tracking/types.js';
import type { Point } from '@portail/vision/types.js';
import { createLineState, evaluateLine, type LineRule } from './lines.js';
import { RuleConfigError, type LineCrossing, type WrongWayAlert } from './types.js';

/** An update whose box stands on `foot` (bottom-centre), 30x80 px. */
function at(trackId: string, foot: Point, status: TrackStatus = 'confirmed'): TrackUpdate {
  const box = { x: foot[0] - 15, y: foot[1] - 80, w: 30, h: 80 };
  return {
    trackId,
    status,
    detected: status === 'confirmed' || status === 'tentative',
    box,
    score: 0.9,
    hits: 3,
    firstSeenMs: 0,
    lastSeenMs: 0,
  };
}

function replay(rule: LineRule, frames: TrackUpdate[][]) {
  let state = createLineState(rule);
  const crossings: LineCrossing[] = [];
  const alerts: WrongWayAlert[] = [];
  for (const [i, updates] of frames.entries()) {
    const r = evaluateLine(state, updates, i * 40);
    state = r.state;
    crossings.push(...r.crossings);
    alerts.push(...r.alerts);
  }
  return { state, crossings, alerts };
}

/** Foot points of one track at x, walking through the given y values, one per frame. */
const path = (id: string, x: number, ys: number[]) => ys.map((y) => [at(id, [x, y])]);

// Horizontal line drawn left to right at y=200: its right-hand side on screen is below (y > 200),
// so "in" is walking down the image.
const door: LineRule = { id: 'door', from: [0, 200], to: [400, 200] };

describe('lines', () => {
  it('counts crossings both ways', () => {
    const frames = [...path('a', 200, [150, 170, 190, 210, 230, 250]), ...path('b', 300, [260, 230, 205, 180, 150])];
    const { crossings, state } = replay(door, frames);
    expect(crossings.map((c) => [c.trackId, c.direction, c.kind, c.rule])).toEqual([
      ['a', 'in', 'line_crossing', 'door'],
      ['b', 'out', 'line_crossing', 'door'],
    ]);
    expect(state.counts).toEqual({ in: 1, out: 1 });
    // the count is reported at the frame where the track left the band on the other side
    expect(crossings[0]!.tMs).toBe(3 * 40);
  });

  it('only counts crossings between the end points', () => {
    const { crossings } = replay(door, [
      ...path('c', 450, [150, 250]),
      ...path('d', -20, [250, 150]),
      ...path('e', 399, [150, 250]),
    ]);
    expect(crossings.map((c) => c.trackId)).toEqual(['e']);
  });

  it('raises a wrong-way alert against the allowed direction', () => {
    const entry: LineRule = { ...door, allowedDirection: 'in' };
    const { crossings, alerts } = replay(entry, [...path('a', 200, [150, 250]), ...path('b', 200, [250, 150])]);
    expect(crossings).toHaveLength(2);
    expect(alerts).toEqual([
      expect.objectContaining({ kind: 'wrong_way', rule: 'door', trackId: 'b', direction: 'out' }),
    ]);
    // outside the line's schedule (these times are a Thursday in 1970) the crossing is counted, not alerted
    const mondays: LineRule = {
      ...entry,
      schedule: { timeZone: 'Europe/Paris', periods: [{ days: ['mon'], start: '00:00', end: '00:00' }] },
    };
    const offHours = replay(mondays, path('b', 200, [250, 150]));
    expect(offHours.state.counts).toEqual({ in: 0, out: 1 });
    expect(offHours.alerts).toEqual([]);
  });

  it('counts a track jittering on the line once', () => {
    const jitter = [150, 180, 195, 198, 203, 197, 204, 199, 202, 196, 201, 205, 199, 230, 260];
    const { crossings, state } = replay(door, path('j', 200, jitter));
    expect(crossings.map((c) => c.direction)).toEqual(['in']);
    expect(state.counts).toEqual({ in: 1, out: 0 });
    // jittering on the line and going back where it came from is no crossing at all
    expect(replay(door, path('k', 200, [150, 190, 202, 197, 205, 198, 170])).crossings).toEqual([]);
  });

  it('counts a crossing hidden by an occlusion when the track is found on the other side', () => {
    const frames = [
      [at('h', [200, 150])],
      [at('h', [200, 185])],
      [at('h', [200, 200], 'lost')],
      [at('h', [200, 215], 'lost')],
      [at('h', [200, 240])],
    ];
    expect(replay(door, frames).crossings.map((c) => c.direction)).toEqual(['in']);
  });

  it('judges the first move of a tentative track once it is confirmed, and forgets removed tracks', () => {
    const frames = [
      [at('t', [200, 150], 'tentative')],
      [at('t', [200, 230], 'tentative')],
      [at('t', [200, 240])],
      [at('t', [200, 240], 'removed')],
    ];
    const { crossings, state } = replay(door, frames);
    expect(crossings.map((c) => c.direction)).toEqual(['in']);
    expect(state.tracks.size).toBe(0);
  });

  it('counts once with the real tracker on noisy boxes that hover over the line', () => {
    const tracker = createByteTracker();
    let state = createLineState(door);
    const wobble = [0, 3, -3, 2, -2, 3, -3, 1];
    const crossings: LineCrossing[] = [];
    for (let f = 0; f < 60; f++) {
      // the person walks down to the line, lingers on it for 30 frames with ±3 px box noise, goes on
      const footY = f < 15 ? 140 + 4 * f : f < 45 ? 200 + wobble[f % wobble.length]! : 200 + 4 * (f - 44);
      const updates = tracker.update([{ box: { x: 185, y: footY - 80, w: 30, h: 80 }, score: 0.9 }], f * 40);
      const r = evaluateLine(state, updates, f * 40);
      state = r.state;
      crossings.push(...r.crossings);
    }
    expect(crossings.map((c) => c.direction)).toEqual(['in']);
  });

  it('rejects a zero-length line', () => {
    expect(() => createLineState({ id: 'x', from: [5, 5], to: [5, 5] })).toThrow(RuleConfigError);
  });
});
