import { DEFAULT_TIME_ZONE } from '@portail/protocol';
import type { Database } from 'better-sqlite3';
import { z } from 'zod';
import { ALL_SITES, can, type Principal } from '../auth/permissions.js';
import type { ConfigIssue } from './agent-config-service.js';

/**
 * The sites of the deployment as regional IT declares them (name, time zone, a few settings), and
 * the list each account sees. A site also exists without a row here: as soon as one of its agents
 * reports, or people are imported for it; such a site is listed with its id as its name.
 */

function isKnownTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    // Intl reports an unknown zone only by throwing RangeError
    return false;
  }
}

export const siteSettingsSchema = z
  .strictObject({
    address: z
      .string()
      .trim()
      .max(300)
      .optional()
      .describe('postal address of the school, for the register and the fleet view'),
    notes: z.string().max(2000).optional().describe('free notes of the administrators (no personal data)'),
  })
  .describe('settings of a site; what concerns people, retention or the register has its own screens');
export type SiteSettings = z.output<typeof siteSettingsSchema>;

export const siteInputSchema = z.strictObject({
  name: z.string().trim().min(1).max(120).describe('display name, e.g. "Lycée Victor Hugo"'),
  timeZone: z
    .string()
    .refine(isKnownTimeZone, 'must be an IANA time zone such as Europe/Paris')
    .default(DEFAULT_TIME_ZONE)
    .describe('IANA time zone of the site: schedules of rules and local dates'),
  settings: siteSettingsSchema.default({}),
});
export type SiteInput = z.input<typeof siteInputSchema>;

export interface SiteRecord {
  site: string;
  name: string;
  timeZone: string;
  settings: SiteSettings;
  /** false for a site known only through its agents or people: nothing was declared for it yet */
  declared: boolean;
  updatedAt: string | null;
  updatedBy: string | null;
}

export interface SiteSummary extends SiteRecord {
  agents: { total: number; online: number };
  /** only for an account holding people:read at the site */
  people?: { students: number; enrolled: number };
}

export type SiteWriteResult =
  | { ok: true; value: { site: SiteRecord; before: SiteRecord | null } }
  | {
      ok: false;
      error:
        { code: 'SITE_INVALID'; message: string; issues: ConfigIssue[] } | { code: 'SITE_EXISTS'; message: string };
    };

export interface SiteDirectory {
  get(site: string): SiteRecord | null;
  /** sites the principal holds a role at (every known site for a global grant), with counts */
  listFor(p: Principal): SiteSummary[];
  /** `create`: refuse when already declared (POST); otherwise create or replace (PUT) */
  write(site: string, input: unknown, actor: string, mode: 'create' | 'upsert'): SiteWriteResult;
}

interface SiteRow {
  site: string;
  name: string;
  time_zone: string;
  settings: string;
  updated_at: string;
  updated_by: string;
}

const toRecord = (r: SiteRow): SiteRecord => ({
  site: r.site,
  name: r.name,
  timeZone: r.time_zone,
  settings: JSON.parse(r.settings) as SiteSettings,
  declared: true,
  updatedAt: r.updated_at,
  updatedBy: r.updated_by,
});

const implicit = (site: string): SiteRecord => ({
  site,
  name: site,
  timeZone: DEFAULT_TIME_ZONE,
  settings: {},
  declared: false,
  updatedAt: null,
  updatedBy: null,
});

export function createSiteDirectory(db: Database, opts: { now?: () => Date } = {}): SiteDirectory {
  const now = opts.now ?? (() => new Date());
  const getStmt = db.prepare<[string], SiteRow>('SELECT * FROM sites WHERE site = ?');
  const allStmt = db.prepare<[], SiteRow>('SELECT * FROM sites');
  // every site the server has heard of, whatever declared it
  const knownStmt = db.prepare<[], { site: string }>(
    `SELECT site FROM sites UNION SELECT site FROM agents UNION SELECT site FROM people_sites UNION SELECT DISTINCT site FROM agent_configs`,
  );
  const agentCountStmt = db.prepare<[], { site: string; total: number; online: number }>(
    `SELECT site, count(*) AS total, sum(state = 'online') AS online FROM agents GROUP BY site`,
  );
  // enrolled: active students holding a template (through an unrevoked biometric credential)
  const peopleStmt = db.prepare<{ site: string }, { students: number; enrolled: number }>(
    `SELECT (SELECT count(*) FROM students WHERE site = @site AND status = 'active') AS students,
            (SELECT count(DISTINCT c.student_id) FROM templates t JOIN credentials c ON c.id = t.credential_id
               JOIN students s ON s.id = c.student_id
              WHERE t.site = @site AND c.revoked_at IS NULL AND s.status = 'active') AS enrolled`,
  );
  const upsertStmt = db.prepare(
    `INSERT INTO sites (site, name, time_zone, settings, created_at, created_by, updated_at, updated_by)
     VALUES (@site, @name, @timeZone, @settings, @at, @actor, @at, @actor)
     ON CONFLICT (site) DO UPDATE SET name = excluded.name, time_zone = excluded.time_zone,
       settings = excluded.settings, updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
  );

  const peopleCounts = (site: string) => peopleStmt.get({ site }) ?? { students: 0, enrolled: 0 };

  return {
    get(site) {
      const row = getStmt.get(site);
      return row ? toRecord(row) : null;
    },
    listFor(p) {
      const declared = new Map(allStmt.all().map((r) => [r.site, toRecord(r)]));
      const known = new Set(knownStmt.all().map((r) => r.site));
      const global = p.authDisabled || p.grants.some((g) => g.site === ALL_SITES);
      const visible = global ? known : new Set(p.grants.map((g) => g.site).filter((s) => s !== ALL_SITES));
      const counts = new Map(agentCountStmt.all().map((r) => [r.site, { total: r.total, online: r.online ?? 0 }]));
      return [...visible].sort().map((site) => {
        const record = declared.get(site) ?? implicit(site);
        const summary: SiteSummary = { ...record, agents: counts.get(site) ?? { total: 0, online: 0 } };
        if (can(p, 'people:read', site)) summary.people = peopleCounts(site);
        return summary;
      });
    },
    write(site, input, actor, mode) {
      const parsed = siteInputSchema.safeParse(input);
      if (!parsed.success) {
        const issues = parsed.error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message }));
        return {
          ok: false,
          error: { code: 'SITE_INVALID', message: issues.map((i) => `${i.path}: ${i.message}`).join('; '), issues },
        };
      }
      const beforeRow = getStmt.get(site);
      if (mode === 'create' && beforeRow)
        return { ok: false, error: { code: 'SITE_EXISTS', message: `site ${site} is already declared` } };
      upsertStmt.run({
        site,
        name: parsed.data.name,
        timeZone: parsed.data.timeZone,
        settings: JSON.stringify(parsed.data.settings),
        at: now().toISOString(),
        actor,
      });
      return {
        ok: true,
        value: { site: toRecord(getStmt.get(site)!), before: beforeRow ? toRecord(beforeRow) : null },
      };
    },
  };
}
