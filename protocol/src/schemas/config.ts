import { z } from 'zod';
import { idSchema } from '../ids.js';
import { protocolVersionSchema, timestampSchema } from './common.js';

const point = z.tuple([z.number(), z.number()]).describe('[x, y] in pixels of the camera frame');

/** What the site declares a camera looks at; it decides whether tracking may be turned on at all. */
export const LOCATION_TYPES = ['entrance', 'circulation', 'playground', 'classroom', 'canteen', 'other'] as const;
export type LocationType = (typeof LOCATION_TYPES)[number];

/**
 * The only location types where anonymous tracking may be enabled. Playgrounds, classrooms and
 * canteens are never tracked: following pupils where they spend their day is disproportionate to
 * the purpose (CNIL opinion of October 2019 on the Région PACA experiment).
 */
export const TRACKABLE_LOCATION_TYPES = ['entrance', 'circulation'] as const satisfies readonly LocationType[];

export function isTrackableLocationType(t: string): t is (typeof TRACKABLE_LOCATION_TYPES)[number] {
  return (TRACKABLE_LOCATION_TYPES as readonly string[]).includes(t);
}

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export const DEFAULT_TIME_ZONE = 'Europe/Paris';

function isKnownTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
    return true;
  } catch {
    // Intl reports an unknown zone only by throwing RangeError
    return false;
  }
}

const startTime = z
  .string()
  .regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be HH:MM (00:00-23:59)')
  .describe('local wall-clock start time "HH:MM"');
const endTime = z
  .string()
  .regex(/^(([01]\d|2[0-3]):[0-5]\d|24:00)$/, 'must be HH:MM (00:00-24:00)')
  .describe(
    'local wall-clock end time "HH:MM", exclusive; "24:00" is the end of the day; at or before start it runs past midnight',
  );

/** A weekly schedule, evaluated in the edge agent by rules/schedule.ts (same fields, same meaning). */
export const weeklyScheduleSchema = z
  .strictObject({
    timeZone: z
      .string()
      .refine(isKnownTimeZone, 'must be an IANA time zone such as Europe/Paris')
      .default(DEFAULT_TIME_ZONE)
      .describe('IANA time zone the periods are in; summer/winter time follows it'),
    periods: z
      .array(
        z.strictObject({
          days: z.array(z.enum(WEEKDAYS)).min(1).max(7).describe('days the period starts on'),
          start: startTime,
          end: endTime,
        }),
      )
      .min(1)
      .max(32)
      .describe('the rule is on during any of these periods'),
    exceptDates: z
      .array(z.iso.date())
      .max(400)
      .optional()
      .describe('local dates "YYYY-MM-DD" when the rule is off all day (school holidays, bank holidays)'),
  })
  .describe('weekly schedule; a rule without one is on at all times');
export type WeeklyScheduleConfig = z.output<typeof weeklyScheduleSchema>;

const hysteresisPx = z
  .number()
  .nonnegative()
  .max(200)
  .optional()
  .describe('half-width in px of the band around the edge that counts as neither side (box jitter); default 10');

export const zoneRuleSchema = z
  .strictObject({
    id: idSchema.describe('rule id, unique on the camera; movement events carry it as `rule`'),
    polygon: z
      .array(point)
      .min(3)
      .max(64)
      .describe('restricted area on the image; a person is in it when the bottom-centre of the box is'),
    schedule: weeklyScheduleSchema.optional().describe('zone_entry alerts only while on'),
    hysteresisPx,
  })
  .describe('restricted zone: one zone_entry alert per entry of a track');
export type ZoneRuleConfig = z.output<typeof zoneRuleSchema>;

export const lineRuleSchema = z
  .strictObject({
    id: idSchema.describe('rule id, unique on the camera; movement events carry it as `rule`'),
    from: point.describe('start of the segment; walking from `from` to `to`, the "in" side is on the right'),
    to: point.describe('end of the segment'),
    allowedDirection: z
      .enum(['in', 'out', 'both'])
      .default('both')
      .describe('"in" or "out" makes crossings the other way wrong_way alerts; "both" only counts'),
    schedule: weeklyScheduleSchema
      .optional()
      .describe('wrong_way alerts only while on; crossings are counted at all times'),
    hysteresisPx,
  })
  .refine((l) => l.from[0] !== l.to[0] || l.from[1] !== l.to[1], { message: 'from and to must differ', path: ['to'] })
  .describe('directed counting line: line_crossing events, in/out counts, wrong_way alerts');
export type LineRuleConfig = z.output<typeof lineRuleSchema>;

export const tailgatingRuleSchema = z
  .strictObject({
    id: idSchema.describe('rule id, unique on the camera; movement events carry it as `rule`'),
    lineId: idSchema.describe('id of the gate line on this camera; its "in" direction is inbound'),
    windowMs: z
      .number()
      .int()
      .positive()
      .max(120_000)
      .default(8000)
      .describe('ms after acceptance a credential still covers an inbound crossing'),
    lateCredentialMs: z
      .number()
      .int()
      .nonnegative()
      .max(30_000)
      .default(1500)
      .describe('ms a crossing waits for a credential accepted after it (the reader answers late)'),
    groupMs: z
      .number()
      .int()
      .nonnegative()
      .max(60_000)
      .default(3000)
      .describe('unexplained crossings this many ms after the first form one incident (one alert)'),
    passagesPerCredential: z
      .number()
      .int()
      .min(1)
      .max(10)
      .default(1)
      .describe('inbound crossings one accepted credential allows'),
    schedule: weeklyScheduleSchema.optional().describe('crossings outside the schedule are not checked'),
  })
  .describe('tailgating: more inbound crossings of the gate line than accepted credentials');
export type TailgatingRuleConfig = z.output<typeof tailgatingRuleSchema>;

/** The rules of one camera, as the tracking pipeline consumes them. */
const trackingRulesShape = {
  zones: z.array(zoneRuleSchema).max(32).default([]).describe('restricted zones'),
  lines: z.array(lineRuleSchema).max(32).default([]).describe('directed counting lines'),
  tailgating: z.array(tailgatingRuleSchema).max(8).default([]).describe('tailgating checks on gate lines'),
};

type TrackingRulesShape = z.output<z.ZodObject<typeof trackingRulesShape>>;

function checkRuleReferences(r: TrackingRulesShape, ctx: z.RefinementCtx): void {
  // `rule` in a movement event must name one rule of the camera
  const seen = new Set<string>();
  const kinds = [
    ['zones', r.zones],
    ['lines', r.lines],
    ['tailgating', r.tailgating],
  ] as const;
  for (const [kind, rules] of kinds) {
    rules.forEach((rule, i) => {
      if (seen.has(rule.id))
        ctx.addIssue({
          code: 'custom',
          message: `rule id "${rule.id}" is used twice on this camera`,
          path: [kind, i, 'id'],
        });
      seen.add(rule.id);
    });
  }
  const lineIds = new Set(r.lines.map((l) => l.id));
  r.tailgating.forEach((t, i) => {
    if (!lineIds.has(t.lineId))
      ctx.addIssue({
        code: 'custom',
        message: `no line "${t.lineId}" on this camera`,
        path: ['tailgating', i, 'lineId'],
      });
  });
}

/** Zones, lines and tailgating checks of one camera, with their cross-references checked. */
export const trackingRulesSchema = z.strictObject(trackingRulesShape).superRefine(checkRuleReferences);
export type TrackingRulesConfig = z.output<typeof trackingRulesSchema>;
/** The same rules as written by hand or by the server before defaults apply. */
export type TrackingRulesInput = z.input<typeof trackingRulesSchema>;

export const cameraRulesSchema = z
  .strictObject({
    id: idSchema.describe('camera id on the agent'),
    locationType: z
      .enum(LOCATION_TYPES)
      .default('other')
      .describe('what the camera looks at; tracking may be enabled only at an entrance or a circulation area'),
    trackingEnabled: z
      .boolean()
      .default(false)
      .describe('anonymous person tracking and its rules; off unless the site turns it on'),
    ...trackingRulesShape,
  })
  .superRefine((c, ctx) => {
    if (c.trackingEnabled && !isTrackableLocationType(c.locationType)) {
      ctx.addIssue({
        code: 'custom',
        message: `tracking cannot be enabled at a "${c.locationType}" location: only entrances and circulation areas are tracked`,
        path: ['trackingEnabled'],
      });
    }
    checkRuleReferences(c, ctx);
  })
  .describe('what the site declares for one camera: its location type, whether tracking is on, and its rules');
export type CameraRulesConfig = z.output<typeof cameraRulesSchema>;

/**
 * Retained, server → agent. Camera sources are not in here (they carry secrets and stay in the
 * agent's local config); only what the site declares: rules and thresholds.
 */
export const agentConfigSchema = z
  .strictObject({
    v: protocolVersionSchema,
    site: idSchema,
    agent: idSchema,
    ts: timestampSchema,
    configVersion: z
      .number()
      .int()
      .nonnegative()
      .describe('version of this configuration, increased by the server at every change'),
    cameras: z.array(cameraRulesSchema).max(64).describe('declared rules per camera, by camera id'),
    thresholds: z
      .strictObject({
        faceScore: z
          .number()
          .min(0)
          .max(1)
          .optional()
          .describe('face detector score threshold, overriding the agent default'),
        personScore: z
          .number()
          .min(0)
          .max(1)
          .optional()
          .describe('person detector score threshold, overriding the agent default'),
      })
      .default({}),
  })
  .superRefine((c, ctx) => {
    const seen = new Set<string>();
    c.cameras.forEach((cam, i) => {
      if (seen.has(cam.id))
        ctx.addIssue({ code: 'custom', message: `camera "${cam.id}" is declared twice`, path: ['cameras', i, 'id'] });
      seen.add(cam.id);
    });
  });
export type AgentConfig = z.output<typeof agentConfigSchema>;

/**
 * Retained, agent → server: the answer to `config` (the `.../set` + `.../state` pattern). The agent
 * validates a new configuration before applying it; an invalid one is rejected with its errors and
 * the last good one stays in force.
 */
export const configStateSchema = z.strictObject({
  v: protocolVersionSchema,
  site: idSchema,
  agent: idSchema,
  ts: timestampSchema,
  appliedVersion: z.number().int().nonnegative().nullable().describe('version in force; null before any was received'),
  result: z.enum(['applied', 'rejected']).describe('outcome of the last configuration received'),
  receivedVersion: z.number().int().nonnegative().nullable().describe('version of the last configuration received, when readable'),
  errors: z.array(z.string().max(512)).max(50).optional().describe('why it was rejected, one message per problem with its path'),
});
export type ConfigState = z.infer<typeof configStateSchema>;
