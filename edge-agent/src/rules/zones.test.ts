import { describe, expect, it } from 'vitest';
import type { TrackStatus, TrackUpdate } from '../tracking/types.js';
import type { Point } from '@portail/vision/types.js';
import type { WeeklySchedule } from './schedule.js';
import { RuleConfigError } from './types.js';
import { createZoneState, evaluateZone, type ZoneRule } from './zones.js';

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

function replay(rule: ZoneRule, frames: TrackUpdate[][], startMs: number) {
  let state = createZoneState(rule);
  const alerts = frames.flatMap((updates, i) => {
    const r = evaluateZone(state, updates, startMs + i * 40);
    state = r.state;
    return r.alerts;
  });
  return { state, alerts };
}

const schedule: WeeklySchedule = {
  timeZone: 'Europe/Paris',
  periods: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '08:00', end: '18:00' }],
};
// a square, its foot-point band 100..300 in x and y
const zone: ZoneRule = {
  id: 'lab',
  polygon: [
    [100, 100],
    [300, 100],
    [300, 300],
    [100, 300],
  ],
  schedule,
};
const MONDAY_11H = Date.parse('2025-03-03T10:00:00Z');
const SATURDAY_11H = Date.parse('2025-03-08T10:00:00Z');
const MONDAY_19H = Date.parse('2025-03-03T18:00:00Z');

/** Walks in from the left at y=200, stays, walks out, walks in again. */
const walk: TrackUpdate[][] = [
  ...[20, 50, 80, 110, 140, 170].map((x) => [at('a', [x, 200])]),
  ...[170, 170, 171].map((x) => [at('a', [x, 200])]),
  ...[120, 90, 60, 40].map((x) => [at('a', [x, 200])]),
  ...[80, 130].map((x) => [at('a', [x, 200])]),
];

describe('zones', () => {
  it('alerts once per entry of a confirmed track while the schedule is on', () => {
    const { alerts } = replay(zone, walk, MONDAY_11H);
    expect(alerts).toHaveLength(2);
    expect(alerts[0]).toMatchObject({ kind: 'zone_entry', rule: 'lab', trackId: 'a', tMs: MONDAY_11H + 3 * 40 });
    expect(alerts[1]!.tMs).toBe(MONDAY_11H + 14 * 40);
  });

  it('stays silent outside its schedule', () => {
    expect(replay(zone, walk, SATURDAY_11H).alerts).toEqual([]);
    expect(replay(zone, walk, MONDAY_19H).alerts).toEqual([]);
    expect(replay({ ...zone, schedule: undefined }, walk, SATURDAY_11H).alerts).toHaveLength(2);
  });

  it('ignores tentative and lost tracks; a track confirmed inside counts as one entry', () => {
    const frames = [
      [at('b', [200, 200], 'tentative')],
      [at('b', [200, 200])],
      [at('b', [205, 200])],
      [at('b', [200, 200], 'lost')],
      [at('c', [50, 50], 'lost')],
      [at('b', [210, 200])],
    ];
    // c is lost outside: nothing; a lost prediction drifting inside would not count either
    frames.push([at('c', [200, 200], 'lost')]);
    const { alerts } = replay(zone, frames, MONDAY_11H);
    expect(alerts.map((a) => [a.trackId, a.tMs - MONDAY_11H])).toEqual([['b', 40]]);
  });

  it('counts a person standing on the edge once, and forgets removed tracks', () => {
    const jitter = [95, 102, 98, 104, 97, 103, 99, 101].map((x) => [at('d', [x, 200])]);
    const { alerts, state } = replay(zone, [...jitter, [at('d', [101, 200], 'removed')]], MONDAY_11H);
    expect(alerts).toHaveLength(1);
    expect(state.inside.size).toBe(0);
  });

  it('handles concave polygons and rejects degenerate ones', () => {
    // an L shape: the notch at top-right is outside
    const l: ZoneRule = {
      id: 'l',
      polygon: [
        [0, 0],
        [100, 0],
        [100, 50],
        [50, 50],
        [50, 100],
        [0, 100],
      ],
    };
    const r = replay(l, [[at('e', [75, 75])], [at('f', [25, 75])]], MONDAY_11H);
    expect(r.alerts.map((a) => a.trackId)).toEqual(['f']);
    expect(() =>
      createZoneState({
        id: 'x',
        polygon: [
          [0, 0],
          [1, 1],
        ],
      }),
    ).toThrow(RuleConfigError);
    expect(() => createZoneState({ ...zone, schedule: { ...schedule, timeZone: 'Nowhere/City' } })).toThrow(
      /time zone/,
    );
  });

  it('does not mutate the state it is given', () => {
    const s0 = createZoneState(zone);
    const s1 = evaluateZone(s0, [at('a', [200, 200])], MONDAY_11H).state;
    expect(s0.inside.size).toBe(0);
    expect(s1.inside.get('a')).toBe(true);
  });
});
