import { describe, expect, it } from 'vitest';
import { RuleConfigError } from '../rules/types.js';
import type { PersonDetection, Point } from '@portail/vision/types.js';
import {
  createTrackingPipeline,
  type MovementAlert,
  type TrackingRules,
  type TrackingStep,
} from './tracking-pipeline.js';

const FRAME_MS = 40;
/** Monday 1 September 2025, 06:30 UTC = 08:30 in Paris (summer time), 02:30 in New York. */
const T0 = Date.UTC(2025, 8, 1, 6, 30);

/** A person box (40×100) whose bottom-centre (the foot point the rules use) is at `foot`. */
function person(foot: Point, score = 0.9): PersonDetection {
  return { box: { x: foot[0] - 20, y: foot[1] - 100, w: 40, h: 100 }, score };
}

/** Foot points of a walk from `a` to `b` in `frames` frames (both ends included). */
function walk(a: Point, b: Point, frames: number): Point[] {
  return Array.from({ length: frames }, (_, i) => {
    const t = i / (frames - 1);
    return [a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])] as Point;
  });
}

/** Feed one frame per entry of `frames` (each a list of foot points), from `startMs`. */
function run(
  pipeline: ReturnType<typeof createTrackingPipeline>,
  frames: Point[][],
  startMs = T0,
  before?: (i: number, tMs: number) => void,
): TrackingStep[] {
  return frames.map((feet, i) => {
    const tMs = startMs + i * FRAME_MS;
    before?.(i, tMs);
    return pipeline.update(
      feet.map((f) => person(f)),
      tMs,
    );
  });
}

const alertsOf = (steps: TrackingStep[]): MovementAlert[] => steps.flatMap((s) => s.movementAlerts);

function sequentialIds(): () => string {
  let n = 0;
  return () => `t${++n}`;
}

// Horizontal line at y = 200 drawn left to right: walking down the image is "in".
const GATE: TrackingRules = { lines: [{ id: 'gate', from: [0, 200], to: [400, 200] }] };
const DOWN = walk([200, 120], [200, 280], 21); // 8 px per frame, crosses y = 200 at frame 10

describe('tracking pipeline: lines', () => {
  it('turns a box walking across a line into one line_crossing and counts {in: 1, out: 0}', () => {
    const pipeline = createTrackingPipeline({ rules: GATE, newTrackId: sequentialIds() });
    const steps = run(
      pipeline,
      DOWN.map((f) => [f]),
    );

    const alerts = alertsOf(steps);
    expect(alerts).toHaveLength(1);
    const crossing = alerts[0]!;
    expect(crossing).toMatchObject({ kind: 'line_crossing', rule: 'gate', trackId: 't1', direction: 'in' });
    expect(crossing.box).toHaveLength(4);
    expect(crossing.box![1] + crossing.box![3]).toBeGreaterThan(200); // the foot is past the line

    const withCounts = steps.filter((s) => s.lineCounts !== undefined);
    expect(withCounts).toHaveLength(1);
    expect(withCounts[0]!.lineCounts).toEqual({ gate: { in: 1, out: 0 } });
    expect(withCounts[0]!.movementAlerts).toEqual([crossing]);
    expect(pipeline.snapshot().lineCounts).toEqual({ gate: { in: 1, out: 0 } });
  });

  it('reports confirmed tracks only, from the second detection on', () => {
    const pipeline = createTrackingPipeline({ rules: GATE, newTrackId: sequentialIds() });
    const steps = run(
      pipeline,
      DOWN.slice(0, 3).map((f) => [f]),
    );
    expect(steps.map((s) => s.tracks.map((t) => t.trackId))).toEqual([[], ['t1'], ['t1']]);
    expect(steps[2]!.tracks[0]).toMatchObject({ hits: 3, firstSeenMs: T0, score: 0.9 });
  });

  it('gives tracks random base32 ids by default', () => {
    const pipeline = createTrackingPipeline({ rules: GATE });
    const ids = new Set(
      run(
        pipeline,
        DOWN.map((f) => [f]),
      ).flatMap((s) => s.tracks.map((t) => t.trackId)),
    );
    expect(ids.size).toBe(1);
    expect([...ids][0]).toMatch(/^[a-z2-7]{16}$/);
  });

  it('counts both ways and raises wrong_way against the allowed direction', () => {
    const rules: TrackingRules = { lines: [{ id: 'gate', from: [0, 200], to: [400, 200], allowedDirection: 'in' }] };
    const pipeline = createTrackingPipeline({ rules, newTrackId: sequentialIds() });
    const steps = run(pipeline, [...DOWN.map((f) => [f]), ...[...DOWN].reverse().map((f) => [f])]);
    expect(alertsOf(steps).map((a) => [a.kind, a.direction])).toEqual([
      ['line_crossing', 'in'],
      ['line_crossing', 'out'],
      ['wrong_way', 'out'],
    ]);
    expect(steps.filter((s) => s.lineCounts).map((s) => s.lineCounts)).toEqual([
      { gate: { in: 1, out: 0 } },
      { gate: { in: 1, out: 1 } },
    ]);
  });
});

describe('tracking pipeline: zones and schedules', () => {
  const square: [number, number][] = [
    [150, 250],
    [250, 250],
    [250, 350],
    [150, 350],
  ];
  const into = walk([200, 150], [200, 300], 16);

  it('raises one zone_entry when a track walks into a zone', () => {
    const pipeline = createTrackingPipeline({
      rules: { zones: [{ id: 'staff', polygon: square }] },
      newTrackId: sequentialIds(),
    });
    const alerts = alertsOf(
      run(
        pipeline,
        into.map((f) => [f]),
      ),
    );
    expect(alerts).toEqual([expect.objectContaining({ kind: 'zone_entry', rule: 'staff', trackId: 't1' })]);
    expect(alerts[0]).not.toHaveProperty('direction');
  });

  // 08:00-09:00 on Mondays: on at T0 in Paris, off at T0 in New York
  const morning = { periods: [{ days: ['mon' as const], start: '08:00', end: '09:00' }] };

  it('reads a schedule without a time zone in Europe/Paris by default', () => {
    const rules: TrackingRules = { zones: [{ id: 'staff', polygon: square, schedule: morning }] };
    const pipeline = createTrackingPipeline({ rules });
    expect(
      alertsOf(
        run(
          pipeline,
          into.map((f) => [f]),
        ),
      ),
    ).toHaveLength(1);
  });

  it('reads it in the pipeline time zone when one is given, and in its own zone when it names one', () => {
    const rules: TrackingRules = { zones: [{ id: 'staff', polygon: square, schedule: morning }] };
    const newYork = createTrackingPipeline({ rules, timeZone: 'America/New_York' });
    expect(
      alertsOf(
        run(
          newYork,
          into.map((f) => [f]),
        ),
      ),
    ).toHaveLength(0);

    const named: TrackingRules = {
      zones: [{ id: 'staff', polygon: square, schedule: { ...morning, timeZone: 'Europe/Paris' } }],
    };
    const explicit = createTrackingPipeline({ rules: named, timeZone: 'America/New_York' });
    expect(
      alertsOf(
        run(
          explicit,
          into.map((f) => [f]),
        ),
      ),
    ).toHaveLength(1);
  });
});

describe('tracking pipeline: tailgating', () => {
  const rules: TrackingRules = { ...GATE, tailgating: [{ id: 'gate-tailgating', lineId: 'gate', groupMs: 2000 }] };
  // two people 120 px apart walking down together, then 4 s of empty frames to close the incident
  const pair = [...DOWN.map((f) => [f, [f[0] + 120, f[1]] as Point]), ...Array.from({ length: 100 }, () => [])];

  it('raises one alert with excess 1 when two people go in on one accepted credential', () => {
    const pipeline = createTrackingPipeline({ rules, newTrackId: sequentialIds() });
    const steps = run(pipeline, pair, T0, (i, tMs) => {
      if (i === 5) pipeline.recordAcceptedCredential(tMs);
    });
    const alerts = alertsOf(steps).filter((a) => a.kind === 'tailgating');
    expect(alerts).toEqual([
      {
        kind: 'tailgating',
        rule: 'gate-tailgating',
        excess: 1,
        trackId: expect.stringMatching(/^t[12]$/),
        tMs: expect.any(Number),
      },
    ]);
    expect(pipeline.snapshot().lineCounts).toEqual({ gate: { in: 2, out: 0 } });
  });

  it('stays quiet when each person had a credential accepted', () => {
    const pipeline = createTrackingPipeline({ rules, newTrackId: sequentialIds() });
    const steps = run(pipeline, pair, T0, (i, tMs) => {
      if (i === 5 || i === 6) pipeline.recordAcceptedCredential(tMs);
    });
    expect(alertsOf(steps).filter((a) => a.kind === 'tailgating')).toEqual([]);
    expect(pipeline.snapshot().openCredentials).toBe(0);
  });
});

describe('tracking pipeline: configuration', () => {
  it('refuses invalid rules at creation with a RuleConfigError', () => {
    expect(() => createTrackingPipeline({ rules: { tailgating: [{ id: 't', lineId: 'nowhere' }] } })).toThrow(
      RuleConfigError,
    );
    expect(() => createTrackingPipeline({ rules: { lines: [{ id: 'l', from: [1, 1], to: [1, 1] }] } })).toThrow(
      /from and to must differ/,
    );
  });

  it('applies new rules live: tracks and counts are kept, a new zone does not fire for people already in it', () => {
    const pipeline = createTrackingPipeline({ rules: GATE, newTrackId: sequentialIds() });
    // first person crosses and stays below the line
    run(
      pipeline,
      DOWN.map((f) => [f]),
    );
    const lastFoot = DOWN[DOWN.length - 1]!;
    const trackBefore = pipeline.snapshot().tracks.map((t) => t.trackId);
    expect(trackBefore).toEqual(['t1']);

    // the line is moved and a zone declared around where the person stands
    const zone: [number, number][] = [
      [150, 250],
      [250, 250],
      [250, 320],
      [150, 320],
    ];
    const applied = pipeline.applyRules({
      lines: [{ id: 'gate', from: [0, 210], to: [400, 210] }],
      zones: [{ id: 'stand', polygon: zone }],
    });
    expect(applied).toEqual({ ok: true });

    const t1 = T0 + DOWN.length * FRAME_MS;
    const steps = run(
      pipeline,
      Array.from({ length: 10 }, () => [lastFoot]),
      t1,
    );
    expect(steps.every((s) => s.tracks.map((t) => t.trackId).join() === 't1')).toBe(true);
    expect(alertsOf(steps)).toEqual([]);
    expect(pipeline.snapshot()).toMatchObject({
      lineCounts: { gate: { in: 1, out: 0 } },
      rules: { zones: ['stand'], lines: ['gate'], tailgating: [] },
    });

    // walking back up crosses the moved line: counted on the kept totals
    const back = run(
      pipeline,
      walk(lastFoot, [200, 120], 21).map((f) => [f]),
      t1 + 10 * FRAME_MS,
    );
    expect(back.flatMap((s) => (s.lineCounts ? [s.lineCounts] : []))).toEqual([{ gate: { in: 1, out: 1 } }]);
  });

  it('keeps the previous rules when new ones are invalid', () => {
    const pipeline = createTrackingPipeline({ rules: GATE, newTrackId: sequentialIds() });
    const r = pipeline.applyRules({
      lines: [{ id: 'gate', from: [0, 200], to: [400, 200] }],
      tailgating: [{ id: 'gate', lineId: 'gate' }],
    });
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error).toEqual({ code: 'TRACKING_ERR_RULES', message: expect.stringContaining('used twice') });
    expect(
      alertsOf(
        run(
          pipeline,
          DOWN.map((f) => [f]),
        ),
      ),
    ).toHaveLength(1);
  });

  it('drops tracks on reset but keeps the counts', () => {
    const pipeline = createTrackingPipeline({ rules: GATE, newTrackId: sequentialIds() });
    run(
      pipeline,
      DOWN.map((f) => [f]),
    );
    pipeline.reset();
    expect(pipeline.snapshot()).toMatchObject({
      lastMs: null,
      tracks: [],
      liveTracks: 0,
      lineCounts: { gate: { in: 1, out: 0 } },
    });
    const after = run(
      pipeline,
      DOWN.slice(0, 3).map((f) => [f]),
      T0 + 10_000,
    );
    expect(after[2]!.tracks.map((t) => t.trackId)).toEqual(['t2']);
  });

  it('keeps nothing but boxes, ids and counters (the snapshot is plain JSON)', () => {
    const pipeline = createTrackingPipeline({ rules: GATE, newTrackId: sequentialIds() });
    run(
      pipeline,
      DOWN.map((f) => [f]),
    );
    const snap = pipeline.snapshot();
    expect(JSON.parse(JSON.stringify(snap))).toEqual(snap);
    expect(Object.keys(snap.tracks[0]!).sort()).toEqual(['box', 'firstSeenMs', 'hits', 'score', 'trackId']);
  });
});
