import type { EncryptedTemplate } from '@portail/protocol';
import type { Database } from 'better-sqlite3';
import { issueStudentCredentialInTx } from './credentials.js';
import { deleteIdPhotoRow } from './id-photos.js';
import { getPeopleSite } from './people-sites.js';
import {
  addReceipt,
  getStudent,
  listReceipts,
  liveCredentialsOfStudent,
  revokeCredentialRow,
  toEncryptedTemplate,
  type CredentialRecord,
  type DeletionReceipt,
  type Student,
} from './people-store.js';
import { fail, ok, type Result } from './result.js';
import { dayNumberOfDate, localDate } from './school-calendar.js';
import type { SigningKeyStore } from './signing-key-store.js';

/**
 * Withdrawal of biometrics, departure and erasure: each deletes the ciphertexts (and any kept ID
 * photo), revokes the credentials and records a deletion receipt, in one transaction. Agents learn
 * it from the site's sync set (revocation = delete the ciphertext and refuse the token).
 */

export type WithdrawalReason =
  'consent-withdrawn' | 'consent-refused' | 'operator' | 'departed' | 'erasure-request' | (string & {});

export interface WithdrawalResult {
  studentId: number;
  templatesDeleted: string[];
  credentialsRevoked: string[];
  idPhotoDeleted: boolean;
  /** badge-only credential issued in place of a revoked biometric one (withdrawal only) */
  replacement: CredentialRecord | null;
  /** null when there was nothing to delete */
  receipt: DeletionReceipt | null;
}

interface TxOptions {
  actor: string;
  reason: WithdrawalReason;
  now: Date;
  /** added to the receipt's `what` (e.g. which import triggered a departure, and who ran it) */
  context?: Record<string, unknown>;
}

/**
 * Inside a transaction: delete the student's biometric data. The badge is not part of what was
 * withdrawn, so an active student gets a badge-only credential in place of the biometric one (the
 * card must be re-printed: the old token's id is revoked everywhere).
 */
export function withdrawBiometricsInTx(
  db: Database,
  keys: SigningKeyStore,
  student: Student,
  o: TxOptions,
): WithdrawalResult {
  const at = o.now.toISOString();
  const biometric = liveCredentialsOfStudent(db, student.id).filter((c) => c.biometric);
  let replacement: CredentialRecord | null = null;
  const templatesDeleted: string[] = [];
  const credentialsRevoked: string[] = [];
  if (biometric.length > 0 && student.status === 'active') {
    const issued = issueStudentCredentialInTx(db, keys, student, {
      actor: o.actor,
      reason: o.reason,
      biometric: false,
      now: o.now,
    });
    replacement = issued.record;
    credentialsRevoked.push(...issued.revoked);
    templatesDeleted.push(...issued.templatesDeleted);
  } else {
    for (const c of biometric) {
      const r = revokeCredentialRow(db, c.id, { reason: o.reason, actor: o.actor, at });
      if (r.revoked) credentialsRevoked.push(c.id);
      if (r.templateDeleted) templatesDeleted.push(c.id);
    }
  }
  const idPhotoDeleted = deleteIdPhotoRow(db, student.id);
  const receipt =
    templatesDeleted.length > 0 || idPhotoDeleted
      ? addReceipt(db, {
          site: student.site,
          subject: `student:${student.id}`,
          what: { templates: templatesDeleted, credentialsRevoked, idPhoto: idPhotoDeleted },
          reason: o.reason,
          actor: o.actor,
          at,
        })
      : null;
  return { studentId: student.id, templatesDeleted, credentialsRevoked, idPhotoDeleted, replacement, receipt };
}

/**
 * Inside a transaction: the student left the school (absent from the registry export, or by hand).
 * Every credential is revoked, ciphertexts and kept photo deleted; the student row stays, marked
 * `departed`, until the retention purge or an erasure. A receipt is written even when there was
 * no biometric data, so each departure is accounted for.
 */
export function departStudentInTx(db: Database, student: Student, o: TxOptions): WithdrawalResult {
  const at = o.now.toISOString();
  const templatesDeleted: string[] = [];
  const credentialsRevoked: string[] = [];
  for (const c of liveCredentialsOfStudent(db, student.id)) {
    const r = revokeCredentialRow(db, c.id, { reason: o.reason, actor: o.actor, at });
    if (r.revoked) credentialsRevoked.push(c.id);
    if (r.templateDeleted) templatesDeleted.push(c.id);
  }
  const idPhotoDeleted = deleteIdPhotoRow(db, student.id);
  if (student.status !== 'departed') {
    db.prepare("UPDATE students SET status = 'departed', departed_at = ?, updated_at = ? WHERE id = ?").run(
      at,
      at,
      student.id,
    );
  }
  const receipt = addReceipt(db, {
    site: student.site,
    subject: `student:${student.id}`,
    what: { templates: templatesDeleted, credentialsRevoked, idPhoto: idPhotoDeleted, ...o.context },
    reason: o.reason,
    actor: o.actor,
    at,
  });
  return { studentId: student.id, templatesDeleted, credentialsRevoked, idPhotoDeleted, replacement: null, receipt };
}

/**
 * Inside a transaction: erase the student (right to erasure, or end of retention after departure):
 * departure's deletions, then the consent history and the student row. Credential rows stay,
 * without a holder, so their revocations keep reaching the agents until they expire.
 */
export function eraseStudentInTx(db: Database, student: Student, o: TxOptions): WithdrawalResult {
  const departed = departStudentInTx(db, student, o);
  const consents = db.prepare('DELETE FROM consent_records WHERE student_id = ?').run(student.id).changes;
  db.prepare('DELETE FROM students WHERE id = ?').run(student.id);
  const receipt = addReceipt(db, {
    site: student.site,
    subject: `student:${student.id}`,
    what: { student: true, consentRecords: consents },
    reason: o.reason,
    actor: o.actor,
    at: o.now.toISOString(),
  });
  return { ...departed, receipt };
}

/** What a site's agents hold: the revocation list and the ciphertexts, at a version. */
export interface SyncSet {
  site: string;
  siteCode: number;
  version: number;
  /** true: replace everything held; false: apply on top of `sinceVersion` */
  full: boolean;
  sinceVersion: number | null;
  /** ids to refuse, and whose ciphertext to delete */
  revocations: string[];
  /** ciphertexts to store (by credential id) */
  templates: EncryptedTemplate[];
}

/**
 * The site's sync set at `now`. Without `sinceVersion` (or with one the server does not know, e.g.
 * after a restore from backup), everything; with it, what changed after it. Revocations of
 * credentials that expired more than a day ago are left out: the edge refuses those by date.
 */
export function readSyncSet(
  db: Database,
  site: string,
  now: Date,
  sinceVersion?: number,
): Result<SyncSet, WithdrawalErrorCode> {
  return db.transaction(() => {
    const s = getPeopleSite(db, site);
    if (!s) return fail('WITHDRAWAL_ERR_SITE', `no people data for site ${site}`);
    const minDay = dayNumberOfDate(localDate(now, s.settings.timeZone)) - 1;
    const full = sinceVersion === undefined || sinceVersion < 0 || sinceVersion > s.syncVersion;
    const since = full ? 0 : sinceVersion;
    const revocations = db
      .prepare<[string, number, number], { id: string }>(
        `SELECT id FROM credentials WHERE site = ? AND revoked_at IS NOT NULL AND revoked_version > ?
           AND last_valid_day >= ? ORDER BY revoked_version, id`,
      )
      .all(site, since, minDay)
      .map((r) => r.id);
    const templates = db
      .prepare<[string, number], Parameters<typeof toEncryptedTemplate>[0]>(
        'SELECT * FROM templates WHERE site = ? AND sync_version > ? ORDER BY sync_version',
      )
      .all(site, since)
      .map(toEncryptedTemplate);
    return ok({
      site,
      siteCode: s.siteCode,
      version: s.syncVersion,
      full,
      sinceVersion: full ? null : since,
      revocations,
      templates,
    });
  })();
}

export interface WithdrawalDeps {
  db: Database;
  keys: SigningKeyStore;
  now?: () => Date;
}

export type WithdrawalErrorCode = 'WITHDRAWAL_ERR_STUDENT' | 'WITHDRAWAL_ERR_SITE';

export function createWithdrawalService(deps: WithdrawalDeps) {
  const { db, keys } = deps;
  const now = deps.now ?? (() => new Date());
  const withStudent = (
    studentId: number,
    run: (s: Student, o: TxOptions) => WithdrawalResult,
    o: { actor: string; reason: WithdrawalReason },
  ): Result<WithdrawalResult, WithdrawalErrorCode> =>
    db.transaction(() => {
      const s = getStudent(db, studentId);
      if (!s) return fail('WITHDRAWAL_ERR_STUDENT', `no student ${studentId}`);
      return ok(run(s, { ...o, now: now() }));
    })();

  return {
    /** Delete the student's biometric data (consent withdrawn, or on request); the badge stays. */
    withdrawBiometrics(studentId: number, o: { actor: string; reason?: WithdrawalReason }) {
      return withStudent(studentId, (s, t) => withdrawBiometricsInTx(db, keys, s, t), {
        actor: o.actor,
        reason: o.reason ?? 'operator',
      });
    },
    departStudent(studentId: number, o: { actor: string; reason?: WithdrawalReason }) {
      return withStudent(studentId, (s, t) => departStudentInTx(db, s, t), {
        actor: o.actor,
        reason: o.reason ?? 'departed',
      });
    },
    eraseStudent(studentId: number, o: { actor: string; reason?: WithdrawalReason }) {
      return withStudent(studentId, (s, t) => eraseStudentInTx(db, s, t), {
        actor: o.actor,
        reason: o.reason ?? 'erasure-request',
      });
    },

    /**
     * The site's sync set. Without `sinceVersion` (or with one the server does not know, e.g. after
     * a restore from backup), everything; with it, what changed after it. Revocations of
     * credentials that expired more than a day ago are left out: the edge refuses those by date.
     */
    getSyncSet(site: string, sinceVersion?: number): Result<SyncSet, WithdrawalErrorCode> {
      return readSyncSet(db, site, now(), sinceVersion);
    },

    receipts(site: string, afterId = 0): DeletionReceipt[] {
      return listReceipts(db, site, afterId);
    },

    /**
     * Retention: ciphertexts of expired credentials (revoked with reason `expired`, so agents drop
     * them too) and kept ID photos past their date. One receipt per student. For the purge job.
     */
    purgeExpired(o: { actor?: string } = {}): { templatesDeleted: number; idPhotosDeleted: number } {
      const actor = o.actor ?? 'system';
      const t = now();
      const at = t.toISOString();
      return db.transaction(() => {
        let templatesDeleted = 0;
        let idPhotosDeleted = 0;
        const sites = db.prepare<[], { site: string }>('SELECT site FROM people_sites').all();
        for (const { site } of sites) {
          const today = localDate(t, getPeopleSite(db, site)!.settings.timeZone);
          const expired = db
            .prepare<[string, number], { id: string; student_id: number | null; visitor_id: number | null }>(
              `SELECT c.id, c.student_id, c.visitor_id FROM credentials c JOIN templates t ON t.credential_id = c.id
               WHERE c.site = ? AND c.last_valid_day < ?`,
            )
            .all(site, dayNumberOfDate(today));
          for (const c of expired) {
            const r = revokeCredentialRow(db, c.id, { reason: 'expired', actor, at });
            if (!r.templateDeleted) continue;
            templatesDeleted += 1;
            addReceipt(db, {
              site,
              subject: c.student_id !== null ? `student:${c.student_id}` : `visitor:${c.visitor_id}`,
              what: { templates: [c.id], credentialsRevoked: [c.id] },
              reason: 'expired',
              actor,
              at,
            });
          }
          const photos = db
            .prepare<[string, string], { student_id: number }>(
              'SELECT student_id FROM id_photos WHERE site = ? AND retain_until < ?',
            )
            .all(site, today);
          for (const p of photos) {
            deleteIdPhotoRow(db, p.student_id);
            idPhotosDeleted += 1;
            addReceipt(db, {
              site,
              subject: `student:${p.student_id}`,
              what: { idPhoto: true },
              reason: 'retention',
              actor,
              at,
            });
          }
        }
        return { templatesDeleted, idPhotosDeleted };
      })();
    },
  };
}

export type WithdrawalService = ReturnType<typeof createWithdrawalService>;
