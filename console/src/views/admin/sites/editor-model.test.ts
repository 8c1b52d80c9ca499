import { describe, expect, it } from 'vitest';
import {
  addLine,
  addVertex,
  applyStateOf,
  clientToFrame,
  deleteRule,
  deleteVertex,
  draftFromConfig,
  inArrow,
  issuesAt,
  movePoint,
  nextRuleId,
  requestBody,
  reverseLine,
  startZone,
  unplacedIssues,
  updateRule,
  type Draft,
} from './editor-model.js';

const empty = (): Draft => draftFromConfig(null, [{ id: 'hall', locationType: 'circulation', trackingEnabled: true }]);

describe('zone editor model', () => {
  it('starts from the version in force and adds the cameras the agent runs that it does not name', () => {
    const d = draftFromConfig(
      {
        version: 3,
        cameras: [
          {
            id: 'gate',
            locationType: 'entrance',
            trackingEnabled: false,
            lines: [{ id: 'l', from: [0, 0], to: [5, 0] } as never],
          },
        ],
        thresholds: { faceScore: 0.7 },
        source: 'console',
        createdBy: 'alice',
        createdAt: '2026-01-01T00:00:00.000Z',
      },
      [{ id: 'gate' }, { id: 'hall', locationType: 'circulation', trackingEnabled: null }],
    );
    expect(d.cameras.map((c) => [c.id, c.locationType, c.trackingEnabled])).toEqual([
      ['gate', 'entrance', false],
      ['hall', 'circulation', false],
    ]);
    // a line without a direction gets the schema's default, so the draft is what the agent runs
    expect(d.cameras[0]!.lines[0]!.allowedDirection).toBe('both');
    expect(requestBody(d, 3)).toEqual({ baseVersion: 3, cameras: d.cameras, thresholds: { faceScore: 0.7 } });
  });

  it('draws a zone by clicks, moves and deletes its vertices, and names rules uniquely per camera', () => {
    const started = startZone(empty(), 'hall', [10, 10]);
    const { ref } = started;
    let { draft } = started;
    for (const p of [
      [100, 10],
      [100, 80],
      [10, 80],
    ] as const)
      draft = addVertex(draft, 'hall', ref.index, [p[0], p[1]]);
    expect(draft.cameras[0]!.zones).toEqual([
      {
        id: 'zone-1',
        polygon: [
          [10, 10],
          [100, 10],
          [100, 80],
          [10, 80],
        ],
      },
    ]);
    draft = movePoint(draft, 'hall', ref, 2, [120, 90]);
    draft = deleteVertex(draft, 'hall', ref.index, 3);
    expect(draft.cameras[0]!.zones[0]!.polygon).toEqual([
      [10, 10],
      [100, 10],
      [120, 90],
    ]);
    expect(nextRuleId(draft.cameras[0]!, 'zone')).toBe('zone-2');
    draft = updateRule(draft, 'hall', ref, {
      id: 'stairs',
      schedule: { timeZone: 'Europe/Paris', periods: [{ days: ['mon'], start: '08:00', end: '12:00' }] },
    });
    expect(draft.cameras[0]!.zones[0]!.schedule?.periods).toHaveLength(1);
    // undefined removes the schedule: the rule is on at all times
    draft = updateRule(draft, 'hall', ref, { schedule: undefined });
    expect('schedule' in draft.cameras[0]!.zones[0]!).toBe(false);
    expect(deleteRule(draft, 'hall', ref).cameras[0]!.zones).toEqual([]);
  });

  it('draws a directed line whose arrow points to the "in" side (right of from→to, y down)', () => {
    const { draft, ref } = addLine(empty(), 'hall', [100, 100], [200, 100]);
    const line = draft.cameras[0]!.lines[ref.index]!;
    expect(line).toMatchObject({ id: 'line-1', allowedDirection: 'both' });
    // walking right on the screen, your right hand points down the image
    expect(inArrow(line, 10)).toEqual({ from: [150, 100], to: [150, 110] });
    const reversed = reverseLine(draft, 'hall', ref.index).cameras[0]!.lines[0]!;
    expect(inArrow(reversed, 10).to).toEqual([150, 90]);
    expect(movePoint(draft, 'hall', ref, 1, [200, 150]).cameras[0]!.lines[0]!.to).toEqual([200, 150]);
  });

  it('maps a pointer position on the scaled picture to frame pixels, clamped to the frame', () => {
    const rect = { left: 50, top: 20, width: 384, height: 216 };
    const frame = { width: 768, height: 432 };
    expect(clientToFrame(50 + 192, 20 + 108, rect, frame)).toEqual([384, 216]);
    expect(clientToFrame(0, 0, rect, frame)).toEqual([0, 0]);
    expect(clientToFrame(5000, 5000, rect, frame)).toEqual([768, 432]);
  });

  it('puts each server issue next to its field and lists the rest', () => {
    const issues = [
      { path: 'cameras.0.zones.1.polygon', message: 'too few points' },
      { path: 'cameras.0.trackingEnabled', message: 'not here' },
      { path: 'cameras.1.id', message: 'no camera "roof"' },
    ];
    expect(issuesAt(issues, 'cameras.0.zones.1')).toEqual(['too few points']);
    expect(issuesAt(issues, 'cameras.0.zones.10')).toEqual([]);
    expect(unplacedIssues(issues, ['cameras.0.zones', 'cameras.0.trackingEnabled'])).toEqual([issues[2]]);
  });

  it('tells applied, pending and rejected apart from the agent answer and the version the server holds', () => {
    const st = (
      appliedVersion: number | null,
      result: 'applied' | 'rejected',
      receivedVersion: number | null,
      errors?: string[],
    ) => ({ appliedVersion, result, receivedVersion, ...(errors ? { errors } : {}) });
    expect(applyStateOf(st(4, 'applied', 4), 4)).toEqual({ kind: 'applied', version: 4 });
    expect(applyStateOf(st(3, 'applied', 3), 4)).toEqual({ kind: 'pending', version: 4, inForce: 3 });
    expect(applyStateOf(st(3, 'rejected', 4, ['bad']), 4)).toEqual({
      kind: 'rejected',
      version: 4,
      inForce: 3,
      errors: ['bad'],
    });
    // an old rejection does not hide that a newer version is awaited
    expect(applyStateOf(st(3, 'rejected', 4, ['bad']), 5)).toMatchObject({ kind: 'pending', version: 5 });
    expect(applyStateOf(null, null)).toEqual({ kind: 'none' });
  });
});
