import { randomBytes } from 'node:crypto';
import {
  decodeCredentialToken,
  encodeCredentialToken,
  encryptTemplate,
  withDecryptedTemplate,
  type CredentialClaims,
} from '@portail/protocol';
import type { Database } from 'better-sqlite3';
import { ensurePeopleSite, getPeopleSite, type PeopleSite } from './people-sites.js';
import {
  addReceipt,
  credentialsOfStudent,
  deleteTemplateRow,
  getCredential,
  getStudent,
  getTemplate,
  insertCredential,
  insertTemplate,
  liveCredentialsOfStudent,
  revokeCredentialRow,
  type CredentialRecord,
  type Student,
} from './people-store.js';
import { fail, ok, type Result } from './result.js';
import { dayNumberOfDate, localDate, schoolYearEnd } from './school-calendar.js';
import type { SigningKeyStore } from './signing-key-store.js';

/**
 * Credentials: what a student's (or visitor's) QR code proves. The server stores the credential id,
 * site, validity, signing key id and revocation; never the token, and never the template key, which
 * exists only inside the token of an enrolled student (see docs in `people/README.md`, "lost card").
 */
export interface IssuedCredential {
  credentialId: string;
  site: string;
  siteCode: number;
  keyId: number;
  biometric: boolean;
  lastValidDay: number;
  /** YYYY-MM-DD */
  validUntil: string;
  /**
   * The token bytes the QR code carries. For an enrolled student it holds the template key: render
   * the card and the phone QR from it, then zero it (`token.fill(0)`); it cannot be produced again.
   */
  token: Uint8Array;
}

export type CredentialErrorCode =
  | 'CREDENTIAL_ERR_NOT_FOUND'
  | 'CREDENTIAL_ERR_STUDENT'
  | 'CREDENTIAL_ERR_REVOKED'
  | 'CREDENTIAL_ERR_EXPIRED'
  | 'CREDENTIAL_ERR_KEY_NOT_KEPT'
  | 'CREDENTIAL_ERR_SIGNING_KEY'
  | 'CREDENTIAL_ERR_TOKEN'
  | 'CREDENTIAL_ERR_KEY_IN_USE';

export interface CredentialServiceDeps {
  db: Database;
  keys: SigningKeyStore;
  now?: () => Date;
}

export interface ReissueResult {
  credential: IssuedCredential;
  /** credentials revoked by this re-issue */
  revoked: string[];
  /**
   * `kept`: the template was re-encrypted under the new credential's key (the old token was shown);
   * `lost`: the student was enrolled but no token with the key was shown, so the ciphertext was
   * deleted and the student must re-enrol for biometrics; `none`: badge only before and after.
   */
  biometrics: 'kept' | 'lost' | 'none';
}

/** Validity of a student credential issued now at this site: to the end of the school year. */
export function studentValidity(site: PeopleSite, now: Date): { lastValidDay: number; validUntil: string } {
  const today = localDate(now, site.settings.timeZone);
  const validUntil = schoolYearEnd(today, site.settings.schoolYearEnd, site.settings.issueAheadDays);
  return { validUntil, lastValidDay: dayNumberOfDate(validUntil) };
}

/** Sign the token of a credential record (the template key, when given, is copied into it). */
export function signToken(
  keys: SigningKeyStore,
  c: CredentialRecord,
  siteCode: number,
  templateKey?: Uint8Array,
): Result<IssuedCredential, 'CREDENTIAL_ERR_SIGNING_KEY'> {
  const privateKey = keys.privateKey(c.keyId);
  if (!privateKey) {
    return fail('CREDENTIAL_ERR_SIGNING_KEY', `signing key ${c.keyId} of credential ${c.id} was retired: re-issue it`);
  }
  const claims: CredentialClaims = {
    credentialId: c.id,
    siteCode,
    lastValidDay: c.lastValidDay,
    keyId: c.keyId,
    ...(templateKey ? { templateKey } : {}),
  };
  return ok({
    credentialId: c.id,
    site: c.site,
    siteCode,
    keyId: c.keyId,
    biometric: c.biometric,
    lastValidDay: c.lastValidDay,
    validUntil: c.validUntil,
    token: encodeCredentialToken(claims, privateKey),
  });
}

export interface StudentIssueOptions {
  actor: string;
  /** why the student's previous credentials are revoked */
  reason: string;
  biometric: boolean;
  now: Date;
}

/**
 * Inside a transaction: insert a new credential for the student and revoke the live ones, which
 * deletes their ciphertexts. The caller writes the receipt for `templatesDeleted` (or moves a
 * template off the old credential first when it is to be kept).
 */
export function issueStudentCredentialInTx(
  db: Database,
  keys: SigningKeyStore,
  student: Student,
  o: StudentIssueOptions,
): { record: CredentialRecord; site: PeopleSite; revoked: string[]; templatesDeleted: string[] } {
  const site = ensurePeopleSite(db, student.site, { now: o.now });
  const at = o.now.toISOString();
  const previous = liveCredentialsOfStudent(db, student.id);
  const record = insertCredential(db, {
    site: student.site,
    holderKind: 'student',
    studentId: student.id,
    biometric: o.biometric,
    keyId: keys.current().keyId,
    ...studentValidity(site, o.now),
    issuedAt: at,
    issuedBy: o.actor,
  });
  const revoked: string[] = [];
  const templatesDeleted: string[] = [];
  for (const p of previous) {
    const r = revokeCredentialRow(db, p.id, { reason: o.reason, actor: o.actor, at, replacedBy: record.id });
    if (r.revoked) revoked.push(p.id);
    if (r.templateDeleted) templatesDeleted.push(p.id);
  }
  return { record, site, revoked, templatesDeleted };
}

export function createCredentialService(deps: CredentialServiceDeps) {
  const { db, keys } = deps;
  const now = deps.now ?? (() => new Date());

  const studentOf = (studentId: number): Result<Student, 'CREDENTIAL_ERR_STUDENT'> => {
    const s = getStudent(db, studentId);
    if (!s) return fail('CREDENTIAL_ERR_STUDENT', `no student ${studentId}`);
    if (s.status !== 'active') return fail('CREDENTIAL_ERR_STUDENT', `student ${s.externalId} has left the school`);
    return ok(s);
  };

  return {
    /**
     * A badge-only credential for a student (revoking the previous ones, and with them any
     * template: see `reissue` to keep biometrics). Valid to the end of the school year.
     */
    issueBadge(
      studentId: number,
      o: { actor: string; reason?: string },
    ): Result<IssuedCredential & { revoked: string[] }, CredentialErrorCode> {
      const s = studentOf(studentId);
      if (!s.ok) return s;
      const t = now();
      const reason = o.reason ?? 'reissued';
      const { record, site, revoked } = db.transaction(() => {
        const r = issueStudentCredentialInTx(db, keys, s.value, { actor: o.actor, reason, biometric: false, now: t });
        receiptForReplaced(db, s.value, r, { reason, actor: o.actor, at: t.toISOString() });
        return r;
      })();
      const signed = signToken(keys, record, site.siteCode);
      return signed.ok ? ok({ ...signed.value, revoked }) : signed;
    },

    /**
     * The token of a badge-only credential again (Ed25519 signatures are deterministic: the same
     * bytes as the first time). For an enrolled student it is impossible by design: the key is not
     * kept. A lost card should rather be revoked and re-issued (`reissue`): whoever finds it could
     * pass the gate with it.
     */
    tokenFor(credentialId: string): Result<IssuedCredential, CredentialErrorCode> {
      const c = getCredential(db, credentialId);
      if (!c) return fail('CREDENTIAL_ERR_NOT_FOUND', `no credential ${credentialId}`);
      if (c.revokedAt) return fail('CREDENTIAL_ERR_REVOKED', `credential ${c.id} was revoked (${c.revokedReason})`);
      const site = getPeopleSite(db, c.site)!;
      if (localDate(now(), site.settings.timeZone) > c.validUntil) {
        return fail('CREDENTIAL_ERR_EXPIRED', `credential ${c.id} expired on ${c.validUntil}: re-issue it`);
      }
      if (c.biometric) {
        return fail(
          'CREDENTIAL_ERR_KEY_NOT_KEPT',
          `credential ${c.id} carries a template key the server does not keep: its card is printed once, at enrolment. ` +
            'Re-issue it (with the old card or phone QR to keep biometrics, else the student re-enrols)',
        );
      }
      return signToken(keys, c, site.siteCode);
    },

    /** The student's live credential (newest), if any. */
    currentOf(studentId: number): CredentialRecord | undefined {
      return liveCredentialsOfStudent(db, studentId)[0];
    },

    history(studentId: number): CredentialRecord[] {
      return credentialsOfStudent(db, studentId);
    },

    /** Revoke one credential (lost card, fraud): its template, if any, is deleted with a receipt. */
    revoke(
      credentialId: string,
      o: { actor: string; reason: string },
    ): Result<{ templateDeleted: boolean }, CredentialErrorCode> {
      const c = getCredential(db, credentialId);
      if (!c) return fail('CREDENTIAL_ERR_NOT_FOUND', `no credential ${credentialId}`);
      if (c.revokedAt) return fail('CREDENTIAL_ERR_REVOKED', `credential ${c.id} is already revoked`);
      const at = now().toISOString();
      const r = db.transaction(() => {
        const res = revokeCredentialRow(db, c.id, { reason: o.reason, actor: o.actor, at });
        if (res.templateDeleted) {
          addReceipt(db, {
            site: c.site,
            subject: c.studentId !== null ? `student:${c.studentId}` : `visitor:${c.visitorId}`,
            what: { templates: [c.id], credentialsRevoked: [c.id] },
            reason: o.reason,
            actor: o.actor,
            at,
          });
        }
        return res;
      })();
      return ok({ templateDeleted: r.templateDeleted });
    },

    /**
     * A new credential for a student (lost or damaged card, new school year), the old ones revoked.
     * When the student is enrolled, the template follows the new credential only if the old token
     * is shown (`presentedToken`: the old card, found again, or the QR on the phone): the server
     * decrypts the ciphertext in memory with the key it carries and re-encrypts it under a fresh
     * key. Without it the ciphertext cannot be opened by anyone, so it is deleted (receipt) and
     * the student re-enrols from a photo to get biometrics back.
     */
    reissue(
      studentId: number,
      o: { actor: string; reason: string; presentedToken?: Uint8Array },
    ): Result<ReissueResult, CredentialErrorCode> {
      const s = studentOf(studentId);
      if (!s.ok) return s;
      const student = s.value;
      const site = ensurePeopleSite(db, student.site);
      let carried: { from: string; templateKey: Uint8Array } | undefined;
      if (o.presentedToken) {
        const d = decodeCredentialToken(o.presentedToken, keys.publicKeys());
        if (!d.ok) return fail('CREDENTIAL_ERR_TOKEN', `the token shown is not valid: ${d.error.message}`);
        const c = getCredential(db, d.value.credentialId);
        if (!c || c.studentId !== student.id || d.value.siteCode !== site.siteCode) {
          d.value.templateKey?.fill(0);
          return fail('CREDENTIAL_ERR_TOKEN', `the token shown is not a credential of student ${student.externalId}`);
        }
        if (c.revokedAt) {
          d.value.templateKey?.fill(0);
          return fail(
            'CREDENTIAL_ERR_REVOKED',
            `the token shown was revoked (${c.revokedReason}): its template is gone`,
          );
        }
        if (d.value.templateKey) carried = { from: c.id, templateKey: d.value.templateKey };
      }
      const t = now();
      const newKey = carried ? new Uint8Array(randomBytes(32)) : undefined;
      try {
        const result = db.transaction(() => {
          const old = carried ? getTemplate(db, carried.from) : undefined;
          const { record, revoked, templatesDeleted } = (() => {
            if (!old) {
              const r = issueStudentCredentialInTx(db, keys, student, {
                actor: o.actor,
                reason: o.reason,
                biometric: false,
                now: t,
              });
              receiptForReplaced(db, student, r, { reason: o.reason, actor: o.actor, at: t.toISOString() });
              return r;
            }
            // move the template: take it off the old credential first so its revocation deletes nothing
            deleteTemplateRow(db, old.credentialId);
            const issued = issueStudentCredentialInTx(db, keys, student, {
              actor: o.actor,
              reason: o.reason,
              biometric: true,
              now: t,
            });
            const moved = withDecryptedTemplate(old, carried!.templateKey, (plain) =>
              encryptTemplate(plain, newKey!, {
                credentialId: issued.record.id,
                modelId: old.modelId,
                modelSha256: old.modelSha256,
                encoding: old.encoding,
              }),
            );
            insertTemplate(db, moved, student.site, t.toISOString());
            return issued;
          })();
          const biometrics: ReissueResult['biometrics'] = old ? 'kept' : templatesDeleted.length > 0 ? 'lost' : 'none';
          return { record, revoked, biometrics };
        })();
        const signed = signToken(keys, result.record, site.siteCode, result.biometrics === 'kept' ? newKey : undefined);
        if (!signed.ok) return signed;
        return ok({ credential: signed.value, revoked: result.revoked, biometrics: result.biometrics });
      } finally {
        carried?.templateKey.fill(0);
        newKey?.fill(0);
      }
    },

    /**
     * Retire a signing key once no live, unexpired credential was signed with it (else agents
     * would reject cards still in use); `force` retires anyway and revokes nothing.
     */
    retireSigningKey(keyId: number, o: { force?: boolean } = {}): Result<{ keyId: number }, CredentialErrorCode> {
      const today = dayNumberOfDate(new Date(now()).toISOString().slice(0, 10));
      const inUse = db
        .prepare<[number, number], { n: number }>(
          'SELECT count(*) AS n FROM credentials WHERE key_id = ? AND revoked_at IS NULL AND last_valid_day >= ?',
        )
        .get(keyId, today)!.n;
      if (inUse > 0 && !o.force) {
        return fail(
          'CREDENTIAL_ERR_KEY_IN_USE',
          `${inUse} live credential(s) were signed with key ${keyId}: re-issue them or wait for their expiry`,
        );
      }
      keys.retire(keyId);
      return ok({ keyId });
    },
  };
}

export type CredentialService = ReturnType<typeof createCredentialService>;

/** The receipt of ciphertexts deleted because a credential was replaced. */
export function receiptForReplaced(
  db: Database,
  student: Student,
  r: { revoked: string[]; templatesDeleted: string[] },
  o: { reason: string; actor: string; at: string },
): void {
  if (r.templatesDeleted.length === 0) return;
  addReceipt(db, {
    site: student.site,
    subject: `student:${student.id}`,
    what: { templates: r.templatesDeleted, credentialsRevoked: r.revoked },
    reason: o.reason,
    actor: o.actor,
    at: o.at,
  });
}
