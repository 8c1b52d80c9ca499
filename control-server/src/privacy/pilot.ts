import type { Database } from 'better-sqlite3';
import { z } from 'zod';
import { DEFAULT_PEOPLE_SITE_SETTINGS, getPeopleSite } from '../people/people-sites.js';
import { addDays, isIsoDate, localDate } from '../people/school-calendar.js';
import { accessTimingRows } from './equal-service.js';
import { equalServiceByGate, type LaneStats } from './passage-timing.js';

/**
 * Pilot mode: a site declares biometrics as a time-boxed pilot, from a first to a last day (site
 * time). The day after the last one, the purge run ends it: a summary of the success criteria is
 * computed from the access events of the pilot's days, then every template and kept ID photo of
 * the site is erased through the people module (receipts), and any enrolled later is erased at
 * each following run. A new pilot must be declared to enrol again.
 */

export const PilotCriteriaSchema = z.strictObject({
  minPassages: z.number().int().min(0).optional().describe('passages at the gates during the pilot, at least'),
  maxMismatchRate: z
    .number()
    .min(0)
    .max(1)
    .optional()
    .describe('mismatches / biometric passages, at most (a false rejection costs a student a retry)'),
  maxBiometricMedianMs: z
    .number()
    .min(1)
    .max(60_000)
    .optional()
    .describe('median time-to-verdict of biometric passages, at most (ms): the face check must not slow the gate'),
});
export type PilotCriteria = z.infer<typeof PilotCriteriaSchema>;

export const DeclarePilotSchema = z.strictObject({
  startsOn: z.string().refine(isIsoDate, 'a date YYYY-MM-DD').optional().describe('first day; default today'),
  endsOn: z.string().refine(isIsoDate, 'a date YYYY-MM-DD').describe('last day of the pilot (site time)'),
  criteria: PilotCriteriaSchema.optional(),
});
export type DeclarePilotInput = z.infer<typeof DeclarePilotSchema>;

/** At most a school year and a bit: a "pilot" longer than that is not one. */
export const MAX_PILOT_DAYS = 400;

export type PilotState = 'scheduled' | 'running' | 'due' | 'ended';

export interface Pilot {
  id: number;
  site: string;
  startsOn: string;
  endsOn: string;
  criteria: PilotCriteria;
  declaredBy: string;
  declaredAt: string;
  updatedAt: string;
  endedAt: string | null;
  summary: PilotSummary | null;
  erasure: PilotErasure | null;
}

export interface PilotCriterionResult {
  criterion: keyof PilotCriteria;
  target: number;
  value: number | null;
  met: boolean;
}

export interface PilotSummary {
  site: string;
  startsOn: string;
  endsOn: string;
  /** all access events of the pilot's days */
  passages: number;
  biometricPassages: number;
  badgeOnlyPassages: number;
  confirmations: number;
  mismatches: number;
  /** mismatches / biometric passages; null without biometric passage */
  mismatchRate: number | null;
  decisions: Record<string, number>;
  timing: { badgeOnly: LaneStats; biometric: LaneStats; medianRatio: number | null; definition: string };
  criteria: PilotCriterionResult[];
  computedAt: string;
}

export interface PilotErasure {
  students: number;
  templatesDeleted: number;
  idPhotosDeleted: number;
  credentialsRevoked: number;
  /** badge-only credentials issued in place of revoked biometric ones: cards to print */
  badgeCredentialsIssued: number;
  receiptIds: number[];
  /** templates or photos still at the site afterwards (0 expected) */
  remainingTemplates: number;
  remainingIdPhotos: number;
}

interface PilotRow {
  id: number;
  site: string;
  starts_on: string;
  ends_on: string;
  criteria: string;
  declared_by: string;
  declared_at: string;
  updated_at: string;
  ended_at: string | null;
  summary: string | null;
  erasure: string | null;
}

const toPilot = (r: PilotRow): Pilot => ({
  id: r.id,
  site: r.site,
  startsOn: r.starts_on,
  endsOn: r.ends_on,
  criteria: JSON.parse(r.criteria) as PilotCriteria,
  declaredBy: r.declared_by,
  declaredAt: r.declared_at,
  updatedAt: r.updated_at,
  endedAt: r.ended_at,
  summary: r.summary ? (JSON.parse(r.summary) as PilotSummary) : null,
  erasure: r.erasure ? (JSON.parse(r.erasure) as PilotErasure) : null,
});

/** The site's time zone: the people settings', else France's. */
export function siteTimeZone(db: Database, site: string): string {
  return getPeopleSite(db, site)?.settings.timeZone ?? DEFAULT_PEOPLE_SITE_SETTINGS.timeZone;
}

/** The latest pilot of the site (open or ended), if any. */
export function latestPilot(db: Database, site: string): Pilot | undefined {
  const r = db.prepare<[string], PilotRow>('SELECT * FROM pilots WHERE site = ? ORDER BY id DESC LIMIT 1').get(site);
  return r ? toPilot(r) : undefined;
}

export function pilotState(p: Pilot, today: string): PilotState {
  if (p.endedAt !== null) return 'ended';
  if (today > p.endsOn) return 'due';
  return today < p.startsOn ? 'scheduled' : 'running';
}

export type DeclareResult =
  | { ok: true; value: { pilot: Pilot; created: boolean; before: Pilot | null } }
  | { ok: false; error: { code: 'PILOT_ERR_INVALID'; message: string } };

/**
 * Declare a pilot, or change the dates or criteria of the open one. The last day cannot be in the
 * past (ending a pilot early is `endsOn: today`, carried out by the next purge run the day after).
 */
export function declarePilot(
  db: Database,
  site: string,
  input: unknown,
  o: { actor: string; now: Date },
): DeclareResult {
  const parsed = DeclarePilotSchema.safeParse(input);
  if (!parsed.success) {
    return {
      ok: false,
      error: {
        code: 'PILOT_ERR_INVALID',
        message: parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '),
      },
    };
  }
  const today = localDate(o.now, siteTimeZone(db, site));
  const at = o.now.toISOString();
  return db.transaction((): DeclareResult => {
    const open = db.prepare<[string], PilotRow>('SELECT * FROM pilots WHERE site = ? AND ended_at IS NULL').get(site);
    const before = open ? toPilot(open) : null;
    const startsOn = parsed.data.startsOn ?? before?.startsOn ?? today;
    const { endsOn } = parsed.data;
    const bad = (message: string): DeclareResult => ({ ok: false, error: { code: 'PILOT_ERR_INVALID', message } });
    if (endsOn < startsOn) return bad(`endsOn ${endsOn} is before startsOn ${startsOn}`);
    if (endsOn < today) return bad(`endsOn ${endsOn} is in the past (today is ${today} at the site)`);
    if (endsOn > addDays(startsOn, MAX_PILOT_DAYS)) return bad(`a pilot lasts at most ${MAX_PILOT_DAYS} days`);
    const criteria = JSON.stringify(parsed.data.criteria ?? before?.criteria ?? {});
    if (before) {
      db.prepare('UPDATE pilots SET starts_on = ?, ends_on = ?, criteria = ?, updated_at = ? WHERE id = ?').run(
        startsOn,
        endsOn,
        criteria,
        at,
        before.id,
      );
      return { ok: true, value: { pilot: getPilot(db, before.id)!, created: false, before } };
    }
    const id = Number(
      db
        .prepare(
          `INSERT INTO pilots (site, starts_on, ends_on, criteria, declared_by, declared_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(site, startsOn, endsOn, criteria, o.actor, at, at).lastInsertRowid,
    );
    return { ok: true, value: { pilot: getPilot(db, id)!, created: true, before: null } };
  })();
}

export function getPilot(db: Database, id: number): Pilot | undefined {
  const r = db.prepare<[number], PilotRow>('SELECT * FROM pilots WHERE id = ?').get(id);
  return r ? toPilot(r) : undefined;
}

/** Open pilots whose last day is over at their site. */
export function duePilots(db: Database, now: Date): Pilot[] {
  return db
    .prepare<[], PilotRow>('SELECT * FROM pilots WHERE ended_at IS NULL ORDER BY id')
    .all()
    .map(toPilot)
    .filter((p) => localDate(now, siteTimeZone(db, p.site)) > p.endsOn);
}

export function recordPilotEnd(
  db: Database,
  id: number,
  o: { at: string; summary: PilotSummary; erasure: PilotErasure },
): void {
  db.prepare('UPDATE pilots SET ended_at = ?, summary = ?, erasure = ?, updated_at = ? WHERE id = ?').run(
    o.at,
    JSON.stringify(o.summary),
    JSON.stringify(o.erasure),
    o.at,
    id,
  );
}

/**
 * The success criteria over the pilot's days (site time): passages, confirmations, mismatches,
 * and the median time-to-verdict of biometric against badge-only passages.
 */
export function computePilotSummary(
  db: Database,
  p: Pick<Pilot, 'site' | 'startsOn' | 'endsOn' | 'criteria'>,
  now: Date,
  definition: string,
): PilotSummary {
  const tz = siteTimeZone(db, p.site);
  // a UTC window one day wider on each side, then the exact local days
  const from = `${addDays(p.startsOn, -1)}T00:00:00.000Z`;
  const to = `${addDays(p.endsOn, 2)}T00:00:00.000Z`;
  const rows = [...accessTimingRows(db, p.site, from, to)].filter((r) => {
    const day = localDate(new Date(r.ts), tz);
    return day >= p.startsOn && day <= p.endsOn;
  });
  const decisions: Record<string, number> = {};
  for (const r of rows) decisions[r.decision] = (decisions[r.decision] ?? 0) + 1;
  const biometricPassages = rows.filter((r) => r.biometric).length;
  const mismatches = rows.filter((r) => r.biometric && r.decision === 'mismatch').length;
  const { all } = equalServiceByGate(rows);
  const mismatchRate = biometricPassages > 0 ? mismatches / biometricPassages : null;
  const criteria: PilotCriterionResult[] = [];
  if (p.criteria.minPassages !== undefined) {
    criteria.push({
      criterion: 'minPassages',
      target: p.criteria.minPassages,
      value: rows.length,
      met: rows.length >= p.criteria.minPassages,
    });
  }
  if (p.criteria.maxMismatchRate !== undefined) {
    criteria.push({
      criterion: 'maxMismatchRate',
      target: p.criteria.maxMismatchRate,
      value: mismatchRate,
      met: mismatchRate !== null && mismatchRate <= p.criteria.maxMismatchRate,
    });
  }
  if (p.criteria.maxBiometricMedianMs !== undefined) {
    const value = all.biometric.medianMs;
    criteria.push({
      criterion: 'maxBiometricMedianMs',
      target: p.criteria.maxBiometricMedianMs,
      value,
      met: value !== null && value <= p.criteria.maxBiometricMedianMs,
    });
  }
  return {
    site: p.site,
    startsOn: p.startsOn,
    endsOn: p.endsOn,
    passages: rows.length,
    biometricPassages,
    badgeOnlyPassages: rows.length - biometricPassages,
    confirmations: decisions.confirmed ?? 0,
    mismatches,
    mismatchRate: mismatchRate === null ? null : Math.round(mismatchRate * 10_000) / 10_000,
    decisions,
    timing: { badgeOnly: all.badgeOnly, biometric: all.biometric, medianRatio: all.medianRatio, definition },
    criteria,
    computedAt: now.toISOString(),
  };
}

/** Students of the site holding biometric data: a template, a live biometric credential, a kept photo. */
export function studentsWithBiometricData(db: Database, site: string): number[] {
  return db
    .prepare<[string], { id: number }>(
      `SELECT s.id FROM students s WHERE s.site = ? AND (
         EXISTS (SELECT 1 FROM credentials c JOIN templates t ON t.credential_id = c.id WHERE c.student_id = s.id)
         OR EXISTS (SELECT 1 FROM credentials c WHERE c.student_id = s.id AND c.biometric = 1 AND c.revoked_at IS NULL)
         OR EXISTS (SELECT 1 FROM id_photos p WHERE p.student_id = s.id))
       ORDER BY s.id`,
    )
    .all(site)
    .map((r) => r.id);
}

export function biometricDataLeft(db: Database, site: string): { templates: number; idPhotos: number } {
  return {
    templates: db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM templates WHERE site = ?').get(site)!.n,
    idPhotos: db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM id_photos WHERE site = ?').get(site)!.n,
  };
}
