import { randomBytes } from 'node:crypto';
import { credentialIdFromBytes, type EncryptedTemplate } from '@portail/protocol';
import type { Database } from 'better-sqlite3';
import { ControlServerError } from '../infra/errors.js';
import { nextSyncVersion } from './people-sites.js';

/**
 * Row access shared by the people services (students, credentials, templates, receipts). Callers
 * run these inside their own transaction; nothing here commits on its own.
 */

export type StudentStatus = 'active' | 'departed';

export interface Student {
  id: number;
  site: string;
  externalId: string;
  lastName: string;
  firstName: string;
  className: string;
  /** YYYY-MM-DD */
  birthDate: string;
  /** legal guardians whose consent is asked while the student is a minor (0: emancipated) */
  guardianCount: number;
  status: StudentStatus;
  createdAt: string;
  updatedAt: string;
  departedAt: string | null;
}

interface StudentRow {
  id: number;
  site: string;
  external_id: string;
  last_name: string;
  first_name: string;
  class_name: string;
  birth_date: string;
  guardian_count: number;
  status: StudentStatus;
  created_at: string;
  updated_at: string;
  departed_at: string | null;
}

export function toStudent(r: StudentRow): Student {
  return {
    id: r.id,
    site: r.site,
    externalId: r.external_id,
    lastName: r.last_name,
    firstName: r.first_name,
    className: r.class_name,
    birthDate: r.birth_date,
    guardianCount: r.guardian_count,
    status: r.status,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    departedAt: r.departed_at,
  };
}

export function getStudent(db: Database, id: number): Student | undefined {
  const r = db.prepare<[number], StudentRow>('SELECT * FROM students WHERE id = ?').get(id);
  return r ? toStudent(r) : undefined;
}

export function findStudent(db: Database, site: string, externalId: string): Student | undefined {
  const r = db
    .prepare<[string, string], StudentRow>('SELECT * FROM students WHERE site = ? AND external_id = ?')
    .get(site, externalId);
  return r ? toStudent(r) : undefined;
}

export function listStudents(db: Database, site: string): Student[] {
  return db.prepare<[string], StudentRow>('SELECT * FROM students WHERE site = ? ORDER BY id').all(site).map(toStudent);
}

export type HolderKind = 'student' | 'visitor';

export interface CredentialRecord {
  id: string;
  site: string;
  holderKind: HolderKind;
  studentId: number | null;
  visitorId: number | null;
  /** the token carries a template key (the holder is enrolled in biometrics) */
  biometric: boolean;
  keyId: number;
  lastValidDay: number;
  /** YYYY-MM-DD, the last day the credential is valid */
  validUntil: string;
  issuedAt: string;
  issuedBy: string;
  revokedAt: string | null;
  revokedReason: string | null;
  revokedBy: string | null;
  replacedBy: string | null;
}

interface CredentialRow {
  id: string;
  site: string;
  holder_kind: HolderKind;
  student_id: number | null;
  visitor_id: number | null;
  biometric: number;
  key_id: number;
  last_valid_day: number;
  valid_until: string;
  issued_at: string;
  issued_by: string;
  revoked_at: string | null;
  revoked_reason: string | null;
  revoked_by: string | null;
  replaced_by: string | null;
}

function toCredential(r: CredentialRow): CredentialRecord {
  return {
    id: r.id,
    site: r.site,
    holderKind: r.holder_kind,
    studentId: r.student_id,
    visitorId: r.visitor_id,
    biometric: r.biometric === 1,
    keyId: r.key_id,
    lastValidDay: r.last_valid_day,
    validUntil: r.valid_until,
    issuedAt: r.issued_at,
    issuedBy: r.issued_by,
    revokedAt: r.revoked_at,
    revokedReason: r.revoked_reason,
    revokedBy: r.revoked_by,
    replacedBy: r.replaced_by,
  };
}

export function getCredential(db: Database, id: string): CredentialRecord | undefined {
  const r = db.prepare<[string], CredentialRow>('SELECT * FROM credentials WHERE id = ?').get(id);
  return r ? toCredential(r) : undefined;
}

/** Credentials of a student that are not revoked (possibly expired), newest first. */
export function liveCredentialsOfStudent(db: Database, studentId: number): CredentialRecord[] {
  return db
    .prepare<[number], CredentialRow>(
      'SELECT * FROM credentials WHERE student_id = ? AND revoked_at IS NULL ORDER BY issued_at DESC, rowid DESC',
    )
    .all(studentId)
    .map(toCredential);
}

export function credentialsOfStudent(db: Database, studentId: number): CredentialRecord[] {
  return db
    .prepare<[number], CredentialRow>('SELECT * FROM credentials WHERE student_id = ? ORDER BY issued_at, rowid')
    .all(studentId)
    .map(toCredential);
}

export interface NewCredential {
  site: string;
  holderKind: HolderKind;
  studentId?: number;
  visitorId?: number;
  biometric: boolean;
  keyId: number;
  lastValidDay: number;
  validUntil: string;
  issuedAt: string;
  issuedBy: string;
}

/** Insert with a fresh random 40-bit id (a collision, about 1 in 10^12 per pair, is retried). */
export function insertCredential(db: Database, c: NewCredential): CredentialRecord {
  const exists = db.prepare<[string]>('SELECT 1 FROM credentials WHERE id = ?');
  let id = credentialIdFromBytes(randomBytes(5));
  for (let tries = 0; exists.get(id); tries++) {
    if (tries > 10) throw new ControlServerError('SERVER_ERR_CREDENTIAL_ID', 'cannot draw a free credential id');
    id = credentialIdFromBytes(randomBytes(5));
  }
  db.prepare(
    `INSERT INTO credentials (id, site, holder_kind, student_id, visitor_id, biometric, key_id, last_valid_day,
       valid_until, issued_at, issued_by)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(
    id,
    c.site,
    c.holderKind,
    c.studentId ?? null,
    c.visitorId ?? null,
    c.biometric ? 1 : 0,
    c.keyId,
    c.lastValidDay,
    c.validUntil,
    c.issuedAt,
    c.issuedBy,
  );
  return getCredential(db, id)!;
}

export interface RevokeOptions {
  reason: string;
  actor: string;
  at: string;
  replacedBy?: string;
}

/**
 * Revoke one credential and delete its ciphertext (crypto-erasure: the key in the printed token
 * no longer opens anything). Returns whether a template was deleted; the caller writes the receipt.
 * Invariant the sync relies on: a template is only ever deleted together with its credential's
 * revocation, so agents learn about deletions from the revocation list alone.
 */
export function revokeCredentialRow(
  db: Database,
  id: string,
  o: RevokeOptions,
): { revoked: boolean; templateDeleted: boolean } {
  const c = getCredential(db, id);
  if (!c || c.revokedAt !== null) return { revoked: false, templateDeleted: false };
  const version = nextSyncVersion(db, c.site);
  db.prepare(
    `UPDATE credentials SET revoked_at = ?, revoked_reason = ?, revoked_by = ?, revoked_version = ?, replaced_by = ?
     WHERE id = ?`,
  ).run(o.at, o.reason, o.actor, version, o.replacedBy ?? null, id);
  const templateDeleted = deleteTemplateRow(db, id);
  return { revoked: true, templateDeleted };
}

export function insertTemplate(db: Database, t: EncryptedTemplate, site: string, at: string): number {
  const version = nextSyncVersion(db, site);
  db.prepare(
    `INSERT INTO templates (credential_id, site, model_id, model_sha256, encoding, iv, ciphertext, tag, created_at, sync_version)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(
    t.credentialId,
    site,
    t.modelId,
    t.modelSha256,
    t.encoding,
    Buffer.from(t.iv),
    Buffer.from(t.ciphertext),
    Buffer.from(t.tag),
    at,
    version,
  );
  return version;
}

interface TemplateRow {
  credential_id: string;
  model_id: string;
  model_sha256: string;
  encoding: 'f32' | 'i8';
  iv: Buffer;
  ciphertext: Buffer;
  tag: Buffer;
}

export function toEncryptedTemplate(r: TemplateRow): EncryptedTemplate {
  return {
    credentialId: r.credential_id,
    modelId: r.model_id,
    modelSha256: r.model_sha256,
    encoding: r.encoding,
    iv: new Uint8Array(r.iv),
    ciphertext: new Uint8Array(r.ciphertext),
    tag: new Uint8Array(r.tag),
  };
}

export function getTemplate(db: Database, credentialId: string): EncryptedTemplate | undefined {
  const r = db.prepare<[string], TemplateRow>('SELECT * FROM templates WHERE credential_id = ?').get(credentialId);
  return r ? toEncryptedTemplate(r) : undefined;
}

/** Only `revokeCredentialRow` and re-keying call this: see the invariant there. */
export function deleteTemplateRow(db: Database, credentialId: string): boolean {
  return db.prepare('DELETE FROM templates WHERE credential_id = ?').run(credentialId).changes > 0;
}

export interface ReceiptInput {
  site: string;
  /** 'student:<id>' or 'visitor:<id>' */
  subject: string;
  what: Record<string, unknown>;
  reason: string;
  actor: string;
  at: string;
}

export interface DeletionReceipt extends ReceiptInput {
  id: number;
}

export function addReceipt(db: Database, r: ReceiptInput): DeletionReceipt {
  const info = db
    .prepare('INSERT INTO deletion_receipts (site, subject, what, reason, actor, at) VALUES (?, ?, ?, ?, ?, ?)')
    .run(r.site, r.subject, JSON.stringify(r.what), r.reason, r.actor, r.at);
  return { id: Number(info.lastInsertRowid), ...r };
}

export function listReceipts(db: Database, site: string, afterId = 0): DeletionReceipt[] {
  return db
    .prepare<
      [string, number],
      { id: number; site: string; subject: string; what: string; reason: string; actor: string; at: string }
    >('SELECT * FROM deletion_receipts WHERE site = ? AND id > ? ORDER BY id')
    .all(site, afterId)
    .map((r) => ({ ...r, what: JSON.parse(r.what) as Record<string, unknown> }));
}
