import type { Database } from 'better-sqlite3';
import { ensurePeopleSite } from './people-sites.js';
import { toStudent, type Student } from './people-store.js';
import {
  parseRegistryCsv,
  type ParseOptions,
  type ParseResult,
  type RowError,
  type StudentRecord,
} from './registry-csv.js';
import { fail, ok, type Result } from './result.js';
import { departStudentInTx } from './withdrawal.js';

/**
 * Import of a site's student list (the registry export), idempotent on (site, pupil id): new
 * students inserted, changed fields updated, students absent from the file marked departed (their
 * biometric data deleted and credentials revoked, with receipts by `system`). All in one
 * transaction: a refused file writes nothing, an accepted one is applied whole.
 */
export type StudentField = 'lastName' | 'firstName' | 'className' | 'birthDate' | 'status';

export interface StudentChange {
  externalId: string;
  line: number;
  fields: StudentField[];
}

export interface ImportProgress {
  phase: 'parse' | 'write';
  done: number;
  total: number;
}

export interface ImportReport {
  site: string;
  siteCode: number;
  encoding: 'utf-8' | 'windows-1252';
  delimiter: ';' | ',';
  /** valid student rows in the file */
  rows: number;
  inserted: number;
  updated: number;
  unchanged: number;
  departed: number;
  /** departed students back in the file (counted in `updated`, field `status`) */
  reactivated: number;
  changes: StudentChange[];
  departedIds: string[];
  /** malformed rows, each with its line and column; those rows were skipped */
  errors: RowError[];
  /** what the departures withdrew */
  credentialsRevoked: number;
  templatesDeleted: number;
}

export type ImportErrorCode =
  Extract<ParseResult, { ok: false }>['error']['code'] | 'REGISTRY_ERR_MASS_DEPARTURE' | 'REGISTRY_ERR_SITE';

export interface ImportOptions {
  site: string;
  /** the file as read: its encoding is detected */
  bytes: Uint8Array;
  /**
   * who ran the import: departures it causes are signed `system` (the registry decided), with
   * `importedBy` in their receipts
   */
  actor: string;
  parse?: ParseOptions;
  /**
   * Refuse a file that would mark more than this share of the site's active students departed
   * (a partial export, another school's file): default 0.5, from 20 active students up.
   */
  maxDepartureRatio?: number;
  allowMassDeparture?: boolean;
  onProgress?: (p: ImportProgress) => void;
  now?: Date;
}

const FIELDS: readonly (keyof StudentRecord & StudentField)[] = ['lastName', 'firstName', 'className', 'birthDate'];

/** Pure: the fields that differ between the stored student and the file's record. */
export function changedFields(s: Student, r: StudentRecord): StudentField[] {
  const fields: StudentField[] = FIELDS.filter((f) => s[f] !== r[f]);
  if (s.status === 'departed') fields.push('status');
  return fields;
}

export function importRegistry(db: Database, o: ImportOptions): Result<ImportReport, ImportErrorCode> {
  const now = o.now ?? new Date();
  const at = now.toISOString();
  o.onProgress?.({ phase: 'parse', done: 0, total: o.bytes.length });
  const parsed = parseRegistryCsv(o.bytes, o.parse);
  o.onProgress?.({ phase: 'parse', done: o.bytes.length, total: o.bytes.length });
  if (!parsed.ok) return fail(parsed.error.code, parsed.error.message);
  const { records, errors } = parsed;

  try {
    return db.transaction((): Result<ImportReport, ImportErrorCode> => {
      const site = ensurePeopleSite(db, o.site, { now });
      const existing = new Map(
        db
          .prepare<[string], Parameters<typeof toStudent>[0]>('SELECT * FROM students WHERE site = ?')
          .all(o.site)
          .map((r) => [r.external_id, toStudent(r)] as const),
      );
      // students whose row is malformed this time are not "absent": they must not depart
      const present = new Set<string>([
        ...records.map((r) => r.externalId),
        ...errors.flatMap((e) => (e.externalId ? [e.externalId] : [])),
      ]);
      const leaving = [...existing.values()].filter((s) => s.status === 'active' && !present.has(s.externalId));
      const active = [...existing.values()].filter((s) => s.status === 'active').length;
      const ratio = o.maxDepartureRatio ?? 0.5;
      if (!o.allowMassDeparture && active >= 20 && leaving.length > ratio * active) {
        return fail(
          'REGISTRY_ERR_MASS_DEPARTURE',
          `${leaving.length} of the ${active} active students of ${o.site} are not in this file and would be marked departed: ` +
            'is it the full export of the school? If so, import it again allowing mass departure',
        );
      }

      const insert = db.prepare(
        `INSERT INTO students (site, external_id, last_name, first_name, class_name, birth_date, status, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, 'active', ?, ?)`,
      );
      const update = db.prepare(
        `UPDATE students SET last_name = ?, first_name = ?, class_name = ?, birth_date = ?, status = 'active',
           departed_at = NULL, updated_at = ? WHERE id = ?`,
      );
      const total = records.length + leaving.length;
      const step = Math.max(1, Math.floor(total / 100));
      let done = 0;
      const tick = () => {
        done += 1;
        if (done % step === 0 || done === total) o.onProgress?.({ phase: 'write', done, total });
      };

      const report: ImportReport = {
        site: o.site,
        siteCode: site.siteCode,
        encoding: parsed.encoding,
        delimiter: parsed.delimiter,
        rows: records.length,
        inserted: 0,
        updated: 0,
        unchanged: 0,
        departed: 0,
        reactivated: 0,
        changes: [],
        departedIds: [],
        errors,
        credentialsRevoked: 0,
        templatesDeleted: 0,
      };
      for (const r of records) {
        const s = existing.get(r.externalId);
        if (!s) {
          insert.run(o.site, r.externalId, r.lastName, r.firstName, r.className, r.birthDate, at, at);
          report.inserted += 1;
        } else {
          const fields = changedFields(s, r);
          if (fields.length === 0) report.unchanged += 1;
          else {
            update.run(r.lastName, r.firstName, r.className, r.birthDate, at, s.id);
            report.updated += 1;
            if (fields.includes('status')) report.reactivated += 1;
            report.changes.push({ externalId: r.externalId, line: r.line, fields });
          }
        }
        tick();
      }
      for (const s of leaving) {
        const w = departStudentInTx(db, s, {
          actor: 'system',
          reason: 'departed',
          now,
          context: { trigger: 'registry-import', importedBy: o.actor },
        });
        report.departed += 1;
        report.departedIds.push(s.externalId);
        report.credentialsRevoked += w.credentialsRevoked.length;
        report.templatesDeleted += w.templatesDeleted.length;
        tick();
      }
      return ok(report);
    })();
  } catch (err) {
    // the only expected throw: an invalid site id, from ensurePeopleSite
    if (err instanceof Error && (err as { code?: string }).code === 'PEOPLE_ERR_SITE_ID')
      return fail('REGISTRY_ERR_SITE', err.message);
    throw err;
  }
}
