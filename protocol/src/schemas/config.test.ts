import { describe, expect, it } from 'vitest';
import { validate } from '../validate.js';
import {
  agentConfigSchema,
  cameraRulesSchema,
  DEFAULT_TIME_ZONE,
  isTrackableLocationType,
  LOCATION_TYPES,
  trackingRulesSchema,
  weeklyScheduleSchema,
} from './config.js';

const schoolDays = { periods: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '07:30', end: '18:00' }] };

const entranceCamera = {
  id: 'hall',
  locationType: 'entrance',
  trackingEnabled: true,
  zones: [
    {
      id: 'staff-room',
      polygon: [
        [0, 0],
        [100, 0],
        [100, 80],
      ],
      schedule: schoolDays,
    },
  ],
  lines: [{ id: 'gate', from: [0, 400], to: [640, 400], allowedDirection: 'in' }],
  tailgating: [{ id: 'gate-tailgating', lineId: 'gate', windowMs: 6000 }],
};

const config = (cameras: unknown[]) => ({
  v: 1,
  site: 'lycee-a',
  agent: 'gate-1',
  ts: '2025-09-01T07:00:00.000Z',
  configVersion: 3,
  cameras,
});

/** Paths of the issues zod reports, joined with dots, for readable assertions. */
function issuePaths(r: { success: boolean; error?: { issues: { path: PropertyKey[] }[] } }): string[] {
  return (r.error?.issues ?? []).map((i) => i.path.map(String).join('.'));
}

describe('agent config: per-camera tracking rules', () => {
  it('accepts a complete entrance camera and fills the defaults the rules need', () => {
    const r = validate('config', config([entranceCamera]));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const cam = r.value.cameras[0]!;
    expect(cam.lines[0]).toEqual({ id: 'gate', from: [0, 400], to: [640, 400], allowedDirection: 'in' });
    expect(cam.tailgating[0]).toEqual({
      id: 'gate-tailgating',
      lineId: 'gate',
      windowMs: 6000,
      lateCredentialMs: 1500,
      groupMs: 3000,
      passagesPerCredential: 1,
    });
    expect(cam.zones[0]!.schedule).toEqual({ ...schoolDays, timeZone: DEFAULT_TIME_ZONE });
  });

  it('keeps tracking off and the location "other" unless declared', () => {
    const cam = cameraRulesSchema.parse({ id: 'corridor' });
    expect(cam).toEqual({
      id: 'corridor',
      locationType: 'other',
      trackingEnabled: false,
      zones: [],
      lines: [],
      tailgating: [],
    });
  });

  it.each(['playground', 'classroom', 'canteen', 'other'])('refuses tracking at a %s camera', (locationType) => {
    const r = cameraRulesSchema.safeParse({ id: 'c1', locationType, trackingEnabled: true });
    expect(r.success).toBe(false);
    expect(issuePaths(r)).toEqual(['trackingEnabled']);
    expect(r.error?.issues[0]?.message).toMatch(/only entrances and circulation areas/);
  });

  it('allows declaring rules on a camera whose tracking is off, whatever its location', () => {
    expect(
      cameraRulesSchema.safeParse({ ...entranceCamera, locationType: 'canteen', trackingEnabled: false }).success,
    ).toBe(true);
  });

  it('lists the location types and says which may be tracked', () => {
    expect(LOCATION_TYPES.filter(isTrackableLocationType)).toEqual(['entrance', 'circulation']);
  });

  it('refuses a tailgating check on a line the camera does not have', () => {
    const r = cameraRulesSchema.safeParse({ ...entranceCamera, tailgating: [{ id: 't', lineId: 'side-door' }] });
    expect(issuePaths(r)).toEqual(['tailgating.0.lineId']);
  });

  it('refuses a rule id used twice on one camera (events name the rule by id)', () => {
    const r = trackingRulesSchema.safeParse({
      zones: [
        {
          id: 'gate',
          polygon: [
            [0, 0],
            [1, 0],
            [1, 1],
          ],
        },
      ],
      lines: entranceCamera.lines,
    });
    expect(issuePaths(r)).toEqual(['lines.0.id']);
  });

  it('refuses a camera declared twice', () => {
    const r = agentConfigSchema.safeParse(config([{ id: 'hall' }, { id: 'hall' }]));
    expect(issuePaths(r)).toEqual(['cameras.1.id']);
  });

  it('refuses malformed geometry', () => {
    const bad = [
      {
        zones: [
          {
            id: 'z',
            polygon: [
              [0, 0],
              [1, 1],
            ],
          },
        ],
      },
      { lines: [{ id: 'l', from: [5, 5], to: [5, 5] }] },
      { lines: [{ id: 'l', from: [0, 0], to: [1, Number.POSITIVE_INFINITY] }] },
      { lines: [{ id: 'l', from: [0, 0], to: [1, 1], allowedDirection: 'up' }] },
      { lines: [{ id: 'L', from: [0, 0], to: [1, 1] }] },
      {
        zones: [
          {
            id: 'z',
            polygon: [
              [0, 0],
              [1, 0],
              [1, 1],
            ],
            colour: 'red',
          },
        ],
      },
    ];
    for (const rules of bad) expect(trackingRulesSchema.safeParse(rules).success, JSON.stringify(rules)).toBe(false);
  });

  it('refuses out-of-range tailgating settings', () => {
    for (const extra of [
      { windowMs: 0 },
      { lateCredentialMs: -1 },
      { passagesPerCredential: 0 },
      { passagesPerCredential: 1.5 },
    ]) {
      const r = trackingRulesSchema.safeParse({
        lines: entranceCamera.lines,
        tailgating: [{ id: 't', lineId: 'gate', ...extra }],
      });
      expect(r.success, JSON.stringify(extra)).toBe(false);
    }
  });
});

describe('weekly schedule', () => {
  it('accepts periods past midnight, 24:00 ends, except dates and a named zone', () => {
    const s = {
      timeZone: 'America/Cayenne',
      periods: [
        { days: ['fri'], start: '22:00', end: '06:00' },
        { days: ['sat'], start: '08:00', end: '24:00' },
      ],
      exceptDates: ['2025-12-25'],
    };
    expect(weeklyScheduleSchema.parse(s)).toEqual(s);
  });

  it.each([
    ['an unknown time zone', { ...schoolDays, timeZone: 'Europe/Atlantis' }, 'timeZone'],
    ['a start at 24:00', { periods: [{ days: ['mon'], start: '24:00', end: '10:00' }] }, 'periods.0.start'],
    ['an hour past 23', { periods: [{ days: ['mon'], start: '08:00', end: '25:00' }] }, 'periods.0.end'],
    ['a time without leading zero', { periods: [{ days: ['mon'], start: '8:00', end: '10:00' }] }, 'periods.0.start'],
    ['an unknown day', { periods: [{ days: ['monday'], start: '08:00', end: '10:00' }] }, 'periods.0.days.0'],
    ['no day', { periods: [{ days: [], start: '08:00', end: '10:00' }] }, 'periods.0.days'],
    ['no period', { periods: [] }, 'periods'],
    ['a date that does not exist', { ...schoolDays, exceptDates: ['2025-02-30'] }, 'exceptDates.0'],
  ])('refuses %s', (_name, schedule, path) => {
    expect(issuePaths(weeklyScheduleSchema.safeParse(schedule))).toEqual([path]);
  });
});
