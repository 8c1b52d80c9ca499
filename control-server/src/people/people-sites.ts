import type { Database } from 'better-sqlite3';
import { z } from 'zod';

/**
 * The people side of a site: its numeric code (in every credential token, assigned once), the sync
 * version its agents follow, and the settings of registry, consent, credentials and visitors.
 * The settings live in the database (one JSON column) because site admins change them from the
 * console; the server configuration file only says where the data directory is.
 */
export const PeopleSiteSettingsSchema = z.strictObject({
  ageOfMajority: z
    .number()
    .int()
    .min(15)
    .max(21)
    .default(18)
    .describe('below this age, each legal guardian consents too'),
  timeZone: z
    .string()
    .default('Europe/Paris')
    .refine((tz) => {
      try {
        new Intl.DateTimeFormat('en', { timeZone: tz });
        return true;
      } catch {
        // an unknown zone name is what this refinement rejects
        return false;
      }
    }, 'not an IANA time zone')
    .describe('time zone of the school: dates of validity, ages and visits are local dates'),
  schoolYearEnd: z
    .string()
    .regex(/^(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/)
    .default('08-31')
    .describe('MM-DD: student credentials expire at the end of this day'),
  issueAheadDays: z
    .number()
    .int()
    .min(0)
    .max(120)
    .default(30)
    .describe('credentials issued this many days or fewer before the school-year end run to the next one'),
  keepIdPhotos: z
    .boolean()
    .default(false)
    .describe('keep an ID photo (encrypted) for the reception screen; off: enrolment photos are never kept'),
  idPhotoRetentionDays: z.number().int().min(1).max(400).default(365).describe('kept ID photos are purged after this'),
  visitorIdNumberAllowed: z
    .boolean()
    .default(false)
    .describe('record the number of the visitor ID document (off: only its type is recorded as checked)'),
  visitorRetentionDays: z.number().int().min(1).max(365).default(90).describe('visitor records are purged after this'),
});
export type PeopleSiteSettings = z.infer<typeof PeopleSiteSettingsSchema>;

export const DEFAULT_PEOPLE_SITE_SETTINGS: Readonly<PeopleSiteSettings> = Object.freeze(
  PeopleSiteSettingsSchema.parse({}),
);

export interface PeopleSite {
  site: string;
  siteCode: number;
  syncVersion: number;
  settings: PeopleSiteSettings;
}

const SITE_ID = /^[a-z0-9][a-z0-9_-]{0,63}$/;

export class PeopleSiteError extends Error {
  constructor(
    readonly code: 'PEOPLE_ERR_SITE_ID' | 'PEOPLE_ERR_SITE_CODE' | 'PEOPLE_ERR_SITE_SETTINGS',
    message: string,
  ) {
    super(message);
    this.name = 'PeopleSiteError';
  }
}

interface SiteRow {
  site: string;
  site_code: number;
  sync_version: number;
  settings: string;
}

function toSite(r: SiteRow): PeopleSite {
  return {
    site: r.site,
    siteCode: r.site_code,
    syncVersion: r.sync_version,
    // settings written by an older version get the new defaults
    settings: PeopleSiteSettingsSchema.parse(JSON.parse(r.settings)),
  };
}

export function getPeopleSite(db: Database, site: string): PeopleSite | undefined {
  const r = db.prepare<[string], SiteRow>('SELECT * FROM people_sites WHERE site = ?').get(site);
  return r ? toSite(r) : undefined;
}

/**
 * The site's row, created on first use with the next free site code (or `siteCode` when given; a
 * code is never changed once assigned, since every token of the site carries it).
 */
export function ensurePeopleSite(db: Database, site: string, opts: { siteCode?: number; now?: Date } = {}): PeopleSite {
  if (!SITE_ID.test(site)) {
    throw new PeopleSiteError(
      'PEOPLE_ERR_SITE_ID',
      `site id ${JSON.stringify(site)}: lower-case letters, digits, - and _`,
    );
  }
  return db.transaction((): PeopleSite => {
    const existing = getPeopleSite(db, site);
    if (existing) {
      if (opts.siteCode !== undefined && opts.siteCode !== existing.siteCode) {
        throw new PeopleSiteError(
          'PEOPLE_ERR_SITE_CODE',
          `site ${site} already has code ${existing.siteCode}: printed credentials carry it, it cannot change`,
        );
      }
      return existing;
    }
    let code = opts.siteCode;
    if (code === undefined) {
      const max = db.prepare<[], { m: number | null }>('SELECT max(site_code) AS m FROM people_sites').get()!.m ?? 0;
      code = max + 1;
    }
    if (!Number.isInteger(code) || code < 1 || code > 0xffff) {
      throw new PeopleSiteError('PEOPLE_ERR_SITE_CODE', `site code ${code} is not in 1..65535`);
    }
    if (db.prepare('SELECT 1 FROM people_sites WHERE site_code = ?').get(code)) {
      throw new PeopleSiteError('PEOPLE_ERR_SITE_CODE', `site code ${code} is already used by another site`);
    }
    const at = (opts.now ?? new Date()).toISOString();
    db.prepare(
      'INSERT INTO people_sites (site, site_code, sync_version, settings, created_at, updated_at) VALUES (?, ?, 0, ?, ?, ?)',
    ).run(site, code, JSON.stringify(DEFAULT_PEOPLE_SITE_SETTINGS), at, at);
    return getPeopleSite(db, site)!;
  })();
}

/** Change some settings; returns the site with every setting, or the validation issues. */
export function updatePeopleSiteSettings(
  db: Database,
  site: string,
  patch: Partial<PeopleSiteSettings>,
  now = new Date(),
): { ok: true; value: PeopleSite } | { ok: false; error: { code: 'PEOPLE_ERR_SITE_SETTINGS'; message: string } } {
  return db.transaction(() => {
    const current = ensurePeopleSite(db, site, { now });
    const parsed = PeopleSiteSettingsSchema.safeParse({ ...current.settings, ...patch });
    if (!parsed.success) {
      const message = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
      return { ok: false as const, error: { code: 'PEOPLE_ERR_SITE_SETTINGS' as const, message } };
    }
    db.prepare('UPDATE people_sites SET settings = ?, updated_at = ? WHERE site = ?').run(
      JSON.stringify(parsed.data),
      now.toISOString(),
      site,
    );
    return { ok: true as const, value: getPeopleSite(db, site)! };
  })();
}

/**
 * The next sync version of a site, recorded on whatever changed (a revocation, a template). Agents
 * ask for "everything after version N"; a transaction's changes become visible together.
 */
export function nextSyncVersion(db: Database, site: string): number {
  const r = db
    .prepare<[string], { v: number }>(
      'UPDATE people_sites SET sync_version = sync_version + 1 WHERE site = ? RETURNING sync_version AS v',
    )
    .get(site);
  if (!r) throw new PeopleSiteError('PEOPLE_ERR_SITE_ID', `unknown site ${site}`);
  return r.v;
}
