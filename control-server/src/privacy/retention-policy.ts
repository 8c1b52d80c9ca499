import type { Database } from 'better-sqlite3';
import { z } from 'zod';
import { getPeopleSite, updatePeopleSiteSettings } from '../people/people-sites.js';

/**
 * Retention policy per site, with defaults and hard limits grounded in CNIL guidance (see
 * docs/privacy.md for the sources). A site admin may shorten or lengthen each period within its
 * limits; nothing can be kept beyond the maximum, whatever is stored (a value read back is clamped,
 * so lowering a maximum in a later release applies to every site at once).
 *
 * Templates and ID photos have no period of their own here: they go at departure, on withdrawal, at
 * the end of a credential's validity and at the end of a pilot (people module and `pilot.ts`).
 * Deletion receipts are never purged: they are the proof of every other deletion.
 */

export interface RetentionLimit {
  defaultDays: number;
  minDays: number;
  maxDays: number;
}

/** Per-site categories, in the order the register lists them. */
export const SITE_RETENTION_LIMITS = {
  /** verdicts at the gates (pseudonymous credential id, scores, timings) */
  accessEventsDays: { defaultDays: 30, minDays: 1, maxDays: 90 },
  /** anonymous movement alerts and counts */
  movementEventsDays: { defaultDays: 30, minDays: 1, maxDays: 90 },
  /** camera online/offline/stalled: no personal data, kept for maintenance */
  cameraEventsDays: { defaultDays: 90, minDays: 1, maxDays: 365 },
  /** the visitor register (people/visitors.ts), counted from the visit day */
  visitorsDays: { defaultDays: 90, minDays: 1, maxDays: 92 },
  /** identity and consent history of a student who left, counted from the departure */
  departedStudentsDays: { defaultDays: 30, minDays: 0, maxDays: 365 },
} as const satisfies Record<string, RetentionLimit>;

/** Server-wide: the audit log is one hash chain for every site. */
export const SERVER_RETENTION_LIMITS = {
  /** CNIL recommendation on logging (délibération 2021-122): 6 months to 1 year */
  auditLogDays: { defaultDays: 365, minDays: 183, maxDays: 1095 },
} as const satisfies Record<string, RetentionLimit>;

export type SiteRetentionKey = keyof typeof SITE_RETENTION_LIMITS;
export type ServerRetentionKey = keyof typeof SERVER_RETENTION_LIMITS;
export const SITE_RETENTION_KEYS = Object.keys(SITE_RETENTION_LIMITS) as SiteRetentionKey[];
export const SERVER_RETENTION_KEYS = Object.keys(SERVER_RETENTION_LIMITS) as ServerRetentionKey[];

export type SiteRetentionPolicy = Record<SiteRetentionKey, number>;
export type ServerRetentionPolicy = Record<ServerRetentionKey, number>;

function daysField(l: RetentionLimit, what: string) {
  return z
    .number()
    .int()
    .min(l.minDays, `${what}: at least ${l.minDays} day(s)`)
    .max(l.maxDays, `${what}: at most ${l.maxDays} days (hard maximum)`);
}

const sitePatchShape = Object.fromEntries(
  SITE_RETENTION_KEYS.map((k) => [k, daysField(SITE_RETENTION_LIMITS[k], k).optional()]),
) as Record<SiteRetentionKey, z.ZodOptional<z.ZodNumber>>;
const serverPatchShape = Object.fromEntries(
  SERVER_RETENTION_KEYS.map((k) => [k, daysField(SERVER_RETENTION_LIMITS[k], k).optional()]),
) as Record<ServerRetentionKey, z.ZodOptional<z.ZodNumber>>;

/** What a site admin may send: any subset of the per-site periods, each within its limits. */
export const SiteRetentionPatchSchema = z.strictObject(sitePatchShape);
export const ServerRetentionPatchSchema = z.strictObject(serverPatchShape);
export type SiteRetentionPatch = z.infer<typeof SiteRetentionPatchSchema>;
export type ServerRetentionPatch = z.infer<typeof ServerRetentionPatchSchema>;

export const DEFAULT_SITE_RETENTION: Readonly<SiteRetentionPolicy> = Object.freeze(
  Object.fromEntries(SITE_RETENTION_KEYS.map((k) => [k, SITE_RETENTION_LIMITS[k].defaultDays])) as SiteRetentionPolicy,
);
export const DEFAULT_SERVER_RETENTION: Readonly<ServerRetentionPolicy> = Object.freeze(
  Object.fromEntries(
    SERVER_RETENTION_KEYS.map((k) => [k, SERVER_RETENTION_LIMITS[k].defaultDays]),
  ) as ServerRetentionPolicy,
);

/** The row of server-wide values in `privacy_sites`. */
export const SERVER_ROW = '*';

const clampTo = (l: RetentionLimit, v: unknown): number =>
  typeof v === 'number' && Number.isInteger(v) ? Math.min(l.maxDays, Math.max(l.minDays, v)) : l.defaultDays;

/** Pure: stored JSON (possibly old, partial or out of range) → a complete policy within limits. */
export function effectiveSiteRetention(stored: Record<string, unknown>): SiteRetentionPolicy {
  return Object.fromEntries(
    SITE_RETENTION_KEYS.map((k) => [k, clampTo(SITE_RETENTION_LIMITS[k], stored[k])]),
  ) as SiteRetentionPolicy;
}

export function effectiveServerRetention(stored: Record<string, unknown>): ServerRetentionPolicy {
  return Object.fromEntries(
    SERVER_RETENTION_KEYS.map((k) => [k, clampTo(SERVER_RETENTION_LIMITS[k], stored[k])]),
  ) as ServerRetentionPolicy;
}

export interface StoredPolicy<P> {
  policy: P;
  /** false: nothing stored, the defaults apply */
  customised: boolean;
  updatedAt: string | null;
  updatedBy: string | null;
}

interface PrivacySiteRow {
  site: string;
  retention: string;
  register_info: string;
  updated_at: string;
  updated_by: string;
}

function readRow(db: Database, site: string): PrivacySiteRow | undefined {
  return db.prepare<[string], PrivacySiteRow>('SELECT * FROM privacy_sites WHERE site = ?').get(site);
}

export function getSiteRetention(db: Database, site: string): StoredPolicy<SiteRetentionPolicy> {
  const r = readRow(db, site);
  const stored = r ? (JSON.parse(r.retention) as Record<string, unknown>) : {};
  return {
    policy: effectiveSiteRetention(stored),
    customised: Object.keys(stored).length > 0,
    updatedAt: r?.updated_at ?? null,
    updatedBy: r?.updated_by ?? null,
  };
}

export function getServerRetention(db: Database): StoredPolicy<ServerRetentionPolicy> {
  const r = readRow(db, SERVER_ROW);
  const stored = r ? (JSON.parse(r.retention) as Record<string, unknown>) : {};
  return {
    policy: effectiveServerRetention(stored),
    customised: Object.keys(stored).length > 0,
    updatedAt: r?.updated_at ?? null,
    updatedBy: r?.updated_by ?? null,
  };
}

/** Inside the caller's transaction (or alone): write one column of a site's privacy row. */
export function upsertPrivacySiteColumn(
  db: Database,
  site: string,
  column: 'retention' | 'register_info',
  json: Record<string, unknown>,
  o: { actor: string; at: string },
): void {
  // the column name comes from the union above, never from input
  db.prepare(
    `INSERT INTO privacy_sites (site, ${column}, updated_at, updated_by) VALUES (?, ?, ?, ?)
     ON CONFLICT (site) DO UPDATE SET ${column} = excluded.${column}, updated_at = excluded.updated_at,
       updated_by = excluded.updated_by`,
  ).run(site, JSON.stringify(json), o.at, o.actor);
}

export function readPrivacySiteColumn(
  db: Database,
  site: string,
  column: 'retention' | 'register_info',
): Record<string, unknown> {
  const r = readRow(db, site);
  return r ? (JSON.parse(r[column]) as Record<string, unknown>) : {};
}

export type PolicyResult<P> =
  | { ok: true; value: { before: P; after: P } }
  | { ok: false; error: { code: 'RETENTION_ERR_INVALID'; message: string } };

const issuesText = (e: z.ZodError) =>
  e.issues.map((i) => (i.path.length ? `${i.path.join('.')}: ` : '') + i.message).join('; ');

/**
 * Change some of a site's periods (validated against the limits). The visitor period is also
 * written to the people module's site setting, which dates each new visitor record's purge; the
 * purge clamps older records to the policy as well.
 */
export function setSiteRetention(
  db: Database,
  site: string,
  patch: unknown,
  o: { actor: string; now: Date },
): PolicyResult<SiteRetentionPolicy> {
  const parsed = SiteRetentionPatchSchema.safeParse(patch);
  if (!parsed.success)
    return { ok: false, error: { code: 'RETENTION_ERR_INVALID', message: issuesText(parsed.error) } };
  return db.transaction((): PolicyResult<SiteRetentionPolicy> => {
    const before = getSiteRetention(db, site).policy;
    const stored = { ...readPrivacySiteColumn(db, site, 'retention'), ...stripUndefined(parsed.data) };
    upsertPrivacySiteColumn(db, site, 'retention', stored, { actor: o.actor, at: o.now.toISOString() });
    const after = effectiveSiteRetention(stored);
    alignPeopleVisitorRetention(db, site, after.visitorsDays, o.now);
    return { ok: true, value: { before, after } };
  })();
}

export function setServerRetention(
  db: Database,
  patch: unknown,
  o: { actor: string; now: Date },
): PolicyResult<ServerRetentionPolicy> {
  const parsed = ServerRetentionPatchSchema.safeParse(patch);
  if (!parsed.success)
    return { ok: false, error: { code: 'RETENTION_ERR_INVALID', message: issuesText(parsed.error) } };
  return db.transaction((): PolicyResult<ServerRetentionPolicy> => {
    const before = getServerRetention(db).policy;
    const stored = { ...readPrivacySiteColumn(db, SERVER_ROW, 'retention'), ...stripUndefined(parsed.data) };
    upsertPrivacySiteColumn(db, SERVER_ROW, 'retention', stored, { actor: o.actor, at: o.now.toISOString() });
    return { ok: true, value: { before, after: effectiveServerRetention(stored) } };
  })();
}

/**
 * The people module dates a visitor's purge at registration from its own site setting: keep that
 * setting equal to the policy so new records are dated right. Only for a site the people module
 * already knows (creating one would assign it a credential site code as a side effect).
 */
export function alignPeopleVisitorRetention(db: Database, site: string, days: number, now: Date): boolean {
  const people = getPeopleSite(db, site);
  if (!people || people.settings.visitorRetentionDays === days) return false;
  const r = updatePeopleSiteSettings(db, site, { visitorRetentionDays: days }, now);
  return r.ok;
}

function stripUndefined<T extends Record<string, unknown>>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
