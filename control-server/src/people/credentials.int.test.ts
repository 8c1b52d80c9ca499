import { randomBytes } from 'node:crypto';
import { statSync, writeFileSync, chmodSync } from 'node:fs';
import path from 'node:path';
import { dayNumber, decodeCredentialToken, encryptTemplate, withDecryptedTemplate } from '@portail/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createConsentService } from './consent.js';
import { createCredentialService, issueStudentCredentialInTx, signToken } from './credentials.js';
import { ensurePeopleSite, updatePeopleSiteSettings } from './people-sites.js';
import { findStudent, getCredential, getTemplate, insertTemplate, listReceipts, type Student } from './people-store.js';
import { importRegistry } from './registry-import.js';
import { openSigningKeyStore, signingKeyDir } from './signing-key-store.js';
import { generateStudents, openPeopleTestEnv, registryCsv, type PeopleTestEnv } from './testing.js';
import { createVisitorService } from './visitors.js';
import { createWithdrawalService } from './withdrawal.js';

const utf8 = (s: string) => new TextEncoder().encode(s);
const NOW = new Date('2026-11-22T09:00:00Z');

describe('credentials, consent, withdrawal and sync (real SQLite, real key files)', () => {
  let env: PeopleTestEnv;
  let students: Student[];
  let t = NOW;
  const now = () => t;
  beforeEach(() => {
    t = NOW;
    env = openPeopleTestEnv();
    const list = generateStudents(6, 21).map((s, i) => ({
      ...s,
      // 0..2 minors (born 2010), 3..5 adults (born 2006)
      birthDate: i < 3 ? '15/03/2010' : '15/03/2006',
    }));
    importRegistry(env.db, { site: 'lycee-a', bytes: utf8(registryCsv(list)), actor: 'test', now: NOW });
    students = list.map((s) => findStudent(env.db, 'lycee-a', s.externalId)!);
  });
  afterEach(() => env.close());

  /** A student enrolled without a model: a biometric credential and a ciphertext of known bytes. */
  function enrolFake(s: Student) {
    const key = new Uint8Array(randomBytes(32));
    const plain = new Uint8Array(randomBytes(2048));
    const record = env.db.transaction(() => {
      const r = issueStudentCredentialInTx(env.db, env.keys, s, {
        actor: 'test',
        reason: 're-enrolled',
        biometric: true,
        now: t,
      });
      insertTemplate(
        env.db,
        encryptTemplate(plain, key, {
          credentialId: r.record.id,
          modelId: 'fr-feature-512',
          modelSha256: 'b'.repeat(64),
          encoding: 'f32',
        }),
        s.site,
        t.toISOString(),
      );
      return r.record;
    })();
    const token = signToken(env.keys, record, ensurePeopleSite(env.db, 'lycee-a').siteCode, key);
    if (!token.ok) throw new Error(token.error.message);
    return { record, key, plain, token: token.value.token };
  }

  it('keeps the signing key in the data dir, mode 0600, and reopens the same key', () => {
    const dir = signingKeyDir(env.dataDir);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(path.join(dir, 'key-1.pem')).mode & 0o777).toBe(0o600);
    const again = openSigningKeyStore(env.dataDir);
    expect(again.current()).toMatchObject({ keyId: 1, fingerprint: env.keys.current().fingerprint });
    chmodSync(path.join(dir, 'key-1.pem'), 0o644);
    expect(() => openSigningKeyStore(env.dataDir)).toThrow(/readable by others/);
    chmodSync(path.join(dir, 'key-1.pem'), 0o600);
  });

  it('issues a badge-only credential to the end of the school year, re-printable byte for byte', () => {
    const credentials = createCredentialService({ db: env.db, keys: env.keys, now });
    const issued = credentials.issueBadge(students[0]!.id, { actor: 'test' });
    expect(issued.ok).toBe(true);
    if (!issued.ok) return;
    expect(issued.value).toMatchObject({ biometric: false, validUntil: '2027-08-31', siteCode: 1, keyId: 1 });
    expect(issued.value.token).toHaveLength(74);
    const claims = decodeCredentialToken(issued.value.token, env.keys.publicKeys());
    expect(claims).toEqual({
      ok: true,
      value: {
        credentialId: issued.value.credentialId,
        siteCode: 1,
        lastValidDay: dayNumber(new Date('2027-08-31T00:00:00Z')),
        keyId: 1,
      },
    });
    const again = credentials.tokenFor(issued.value.credentialId);
    expect(again.ok && Buffer.from(again.value.token).equals(Buffer.from(issued.value.token))).toBe(true);
    // nothing about the token is stored: only id, site, validity, key id, revocation
    const row = env.db.prepare('SELECT * FROM credentials WHERE id = ?').get(issued.value.credentialId) as Record<
      string,
      unknown
    >;
    expect(Object.values(row).some((v) => v instanceof Buffer)).toBe(false);
    // a second issue revokes the first
    const second = credentials.issueBadge(students[0]!.id, { actor: 'test', reason: 'damaged' });
    expect(second.ok && second.value.revoked).toEqual([issued.value.credentialId]);
    expect(credentials.tokenFor(issued.value.credentialId)).toMatchObject({
      ok: false,
      error: { code: 'CREDENTIAL_ERR_REVOKED' },
    });
  });

  it('follows the site settings: another school-year end, and expiry refuses a re-print', () => {
    updatePeopleSiteSettings(env.db, 'lycee-a', { schoolYearEnd: '07-05', issueAheadDays: 0 });
    const credentials = createCredentialService({ db: env.db, keys: env.keys, now });
    const issued = credentials.issueBadge(students[1]!.id, { actor: 'test' });
    expect(issued.ok && issued.value.validUntil).toBe('2027-07-05');
    t = new Date('2027-07-06T08:00:00Z');
    expect(credentials.tokenFor(issued.ok ? issued.value.credentialId : '')).toMatchObject({
      ok: false,
      error: { code: 'CREDENTIAL_ERR_EXPIRED' },
    });
  });

  it('assigns each site a code once', () => {
    expect(ensurePeopleSite(env.db, 'lycee-a').siteCode).toBe(1);
    expect(ensurePeopleSite(env.db, 'lycee-b').siteCode).toBe(2);
    expect(ensurePeopleSite(env.db, 'lycee-c', { siteCode: 4242 }).siteCode).toBe(4242);
    expect(() => ensurePeopleSite(env.db, 'lycee-a', { siteCode: 9 })).toThrow(/cannot change/);
    expect(() => ensurePeopleSite(env.db, 'lycee-d', { siteCode: 4242 })).toThrow(/already used/);
  });

  it('rotates keys with overlap: old cards still verify, new ones use the new key; retiring waits for them', () => {
    const credentials = createCredentialService({ db: env.db, keys: env.keys, now });
    const old = credentials.issueBadge(students[0]!.id, { actor: 'test' });
    const rotated = env.keys.rotate();
    expect(rotated).toMatchObject({ keyId: 2, current: true });
    const fresh = credentials.issueBadge(students[1]!.id, { actor: 'test' });
    expect(fresh.ok && fresh.value.keyId).toBe(2);
    const pub = openSigningKeyStore(env.dataDir).publicKeys();
    expect([...pub.keys()].sort()).toEqual([1, 2]);
    expect(old.ok && decodeCredentialToken(old.value.token, pub).ok).toBe(true);
    expect(fresh.ok && decodeCredentialToken(fresh.value.token, pub).ok).toBe(true);
    // a re-print of the old card still signs with its own key
    expect(credentials.tokenFor(old.ok ? old.value.credentialId : '')).toMatchObject({ ok: true, value: { keyId: 1 } });
    expect(credentials.retireSigningKey(1)).toMatchObject({ ok: false, error: { code: 'CREDENTIAL_ERR_KEY_IN_USE' } });
    credentials.issueBadge(students[0]!.id, { actor: 'test', reason: 'new key' });
    expect(credentials.retireSigningKey(1)).toEqual({ ok: true, value: { keyId: 1 } });
    expect([...env.keys.publicKeys().keys()]).toEqual([2]);
    expect(() => env.keys.retire(2)).toThrow(/current key/);
  });

  it('never re-prints an enrolled card; re-issue keeps the template only when the old token is shown', () => {
    const credentials = createCredentialService({ db: env.db, keys: env.keys, now });
    const s = students[3]!;
    const e = enrolFake(s);
    expect(credentials.tokenFor(e.record.id)).toMatchObject({
      ok: false,
      error: { code: 'CREDENTIAL_ERR_KEY_NOT_KEPT' },
    });

    // lost card, found again (or the phone QR): the template moves under a fresh key
    const kept = credentials.reissue(s.id, { actor: 'test', reason: 'lost', presentedToken: e.token });
    expect(kept).toMatchObject({ ok: true, value: { biometrics: 'kept', revoked: [e.record.id] } });
    if (!kept.ok) return;
    const claims = decodeCredentialToken(kept.value.credential.token, env.keys.publicKeys());
    expect(claims.ok && claims.value.templateKey).toBeDefined();
    const moved = getTemplate(env.db, kept.value.credential.credentialId)!;
    const clear = withDecryptedTemplate(moved, claims.ok ? claims.value.templateKey! : new Uint8Array(32), (p) =>
      Uint8Array.from(p),
    );
    expect(Buffer.from(clear).equals(Buffer.from(e.plain))).toBe(true);
    expect(() => withDecryptedTemplate(moved, e.key, () => 1)).toThrow(/does not authenticate/);
    expect(getTemplate(env.db, e.record.id)).toBeUndefined();
    expect(listReceipts(env.db, 'lycee-a')).toEqual([]); // moved, not deleted
    // the old token is now revoked: showing it again cannot move anything
    expect(credentials.reissue(s.id, { actor: 'test', reason: 'lost', presentedToken: e.token })).toMatchObject({
      ok: false,
      error: { code: 'CREDENTIAL_ERR_REVOKED' },
    });
    // another student's token is refused
    const other = enrolFake(students[4]!);
    expect(credentials.reissue(s.id, { actor: 'test', reason: 'lost', presentedToken: other.token })).toMatchObject({
      ok: false,
      error: { code: 'CREDENTIAL_ERR_TOKEN' },
    });

    // lost for good: a new badge-only credential; the ciphertext nobody can open is deleted, with a receipt
    const lost = credentials.reissue(s.id, { actor: 'cli:bob', reason: 'lost' });
    expect(lost).toMatchObject({ ok: true, value: { biometrics: 'lost', credential: { biometric: false } } });
    expect(getTemplate(env.db, kept.value.credential.credentialId)).toBeUndefined();
    expect(listReceipts(env.db, 'lycee-a')).toMatchObject([
      {
        subject: `student:${s.id}`,
        reason: 'lost',
        actor: 'cli:bob',
        what: { templates: [kept.value.credential.credentialId] },
      },
    ]);
  });

  it('consent: a minor needs both guardians; refusal changes nothing else; withdrawal deletes biometrics and keeps the badge', () => {
    const consent = createConsentService({ db: env.db, keys: env.keys, now });
    const credentials = createCredentialService({ db: env.db, keys: env.keys, now });
    const minor = students[0]!;
    const grant = (party: 'student' | 'guardian1' | 'guardian2') =>
      consent.record({
        studentId: minor.id,
        party,
        action: 'grant',
        channel: 'paper',
        noticeVersion: 'v1',
        actor: 'test',
      });
    expect(consent.canEnrolBiometrics(minor.id)).toEqual({
      ok: false,
      reason: 'consent-missing',
      missing: [
        { party: 'student', state: 'none' },
        { party: 'guardian1', state: 'none' },
        { party: 'guardian2', state: 'none' },
      ],
    });
    grant('student');
    grant('guardian1');
    expect(consent.canEnrolBiometrics(minor.id)).toMatchObject({
      ok: false,
      missing: [{ party: 'guardian2', state: 'none' }],
    });
    // one legal guardian on record
    expect(consent.setGuardianCount(minor.id, 1).ok).toBe(true);
    expect(consent.canEnrolBiometrics(minor.id)).toEqual({ ok: true });
    expect(
      consent.record({
        studentId: minor.id,
        party: 'guardian2',
        action: 'grant',
        channel: 'paper',
        noticeVersion: 'v1',
        actor: 't',
      }),
    ).toMatchObject({
      ok: false,
      error: { code: 'CONSENT_ERR_INPUT' },
    });

    // refusal: the badge is untouched
    const adult = students[4]!;
    const badge = credentials.issueBadge(adult.id, { actor: 'test' });
    const refused = consent.record({
      studentId: adult.id,
      party: 'student',
      action: 'refuse',
      channel: 'online',
      noticeVersion: 'v1',
      actor: 'test',
    });
    expect(refused).toMatchObject({ ok: true, value: { withdrawal: null } });
    expect(credentials.currentOf(adult.id)?.id).toBe(badge.ok ? badge.value.credentialId : '');
    expect(
      consent.record({
        studentId: adult.id,
        party: 'student',
        action: 'withdraw',
        channel: 'online',
        noticeVersion: 'v1',
        actor: 'test',
      }),
    ).toMatchObject({
      ok: false,
      error: { message: expect.stringContaining('record a refusal') },
    });

    // withdrawal by a guardian of an enrolled minor
    const e = enrolFake(minor);
    const syncBefore = createWithdrawalService({ db: env.db, keys: env.keys, now }).getSyncSet('lycee-a');
    const w = consent.record({
      studentId: minor.id,
      party: 'guardian1',
      action: 'withdraw',
      channel: 'mail',
      noticeVersion: 'v1',
      actor: 'cli:carol',
    });
    expect(w.ok).toBe(true);
    if (!w.ok) return;
    expect(w.value.withdrawal).toMatchObject({ templatesDeleted: [e.record.id], credentialsRevoked: [e.record.id] });
    const replacement = w.value.withdrawal!.replacement!;
    expect(replacement).toMatchObject({ biometric: false, revokedAt: null });
    expect(getCredential(env.db, e.record.id)).toMatchObject({
      revokedReason: 'consent-withdrawn',
      replacedBy: replacement.id,
    });
    expect(getTemplate(env.db, e.record.id)).toBeUndefined();
    expect(listReceipts(env.db, 'lycee-a').at(-1)).toMatchObject({
      reason: 'consent-withdrawn',
      actor: 'cli:carol',
      what: { templates: [e.record.id] },
    });
    // the replacement badge can be printed; the agents learn the revocation in the next sync
    expect(credentials.tokenFor(replacement.id).ok).toBe(true);
    const delta = createWithdrawalService({ db: env.db, keys: env.keys, now }).getSyncSet(
      'lycee-a',
      syncBefore.ok ? syncBefore.value.version : 0,
    );
    expect(delta).toMatchObject({ ok: true, value: { full: false, revocations: [e.record.id], templates: [] } });
    expect(consent.history(minor.id).map((r) => `${r.party}:${r.action}`)).toEqual([
      'student:grant',
      'guardian1:grant',
      'guardian1:withdraw',
    ]);
    // records are append-only
    expect(() => env.db.prepare("UPDATE consent_records SET action = 'grant'").run()).toThrow(/append-only/);
  });

  it('sync set: full, then deltas by version; erasure removes the person and keeps the revocation', () => {
    const w = createWithdrawalService({ db: env.db, keys: env.keys, now });
    const a = enrolFake(students[3]!);
    const b = enrolFake(students[4]!);
    const full = w.getSyncSet('lycee-a');
    expect(full.ok).toBe(true);
    if (!full.ok) return;
    expect(full.value).toMatchObject({ full: true, siteCode: 1, revocations: [] });
    expect(full.value.templates.map((x) => x.credentialId).sort()).toEqual([a.record.id, b.record.id].sort());
    expect(w.getSyncSet('lycee-a', full.value.version)).toMatchObject({
      ok: true,
      value: { full: false, revocations: [], templates: [] },
    });

    const erased = w.eraseStudent(students[3]!.id, { actor: 'cli:dpo' });
    expect(erased).toMatchObject({
      ok: true,
      value: { templatesDeleted: [a.record.id], credentialsRevoked: [a.record.id] },
    });
    expect(findStudent(env.db, 'lycee-a', students[3]!.externalId)).toBeUndefined();
    expect(getCredential(env.db, a.record.id)).toMatchObject({ studentId: null, revokedReason: 'erasure-request' });
    const delta = w.getSyncSet('lycee-a', full.value.version);
    expect(delta).toMatchObject({ ok: true, value: { full: false, revocations: [a.record.id], templates: [] } });
    expect(delta.ok && delta.value.version).toBeGreaterThan(full.value.version);
    const receipts = w.receipts('lycee-a');
    expect(receipts.map((r) => r.what)).toEqual([
      { templates: [a.record.id], credentialsRevoked: [a.record.id], idPhoto: false },
      { student: true, consentRecords: 0 },
    ]);
    expect(JSON.stringify(receipts)).not.toContain(students[3]!.lastName);
    expect(() => env.db.prepare('DELETE FROM deletion_receipts').run()).toThrow(/append-only/);
    // a version the server does not know (restored backup) gets the full set
    expect(w.getSyncSet('lycee-a', 10_000)).toMatchObject({ ok: true, value: { full: true } });

    // retention: the expired credential's ciphertext goes, and agents are told by a revocation
    t = new Date('2027-09-02T08:00:00Z');
    expect(w.purgeExpired()).toEqual({ templatesDeleted: 1, idPhotosDeleted: 0 });
    expect(getCredential(env.db, b.record.id)).toMatchObject({ revokedReason: 'expired', revokedBy: 'system' });
  });

  it('visitors: a badge-only day pass valid today, ID number only where allowed, own retention', () => {
    const visitors = createVisitorService({ db: env.db, keys: env.keys, now });
    const input = {
      site: 'lycee-a',
      lastName: 'Durand',
      firstName: 'Paul',
      purpose: 'réunion parents-professeurs',
      host: 'Mme Martin',
      idDocumentType: 'id_card' as const,
      actor: 'accueil1',
    };
    expect(visitors.register({ ...input, idDocumentNumber: 'X123' })).toMatchObject({
      ok: false,
      error: { code: 'VISITOR_ERR_ID_NUMBER' },
    });
    const r = visitors.register(input);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.visitor).toMatchObject({
      visitDay: '2026-11-22',
      idDocumentNumber: null,
      idCheckedBy: 'accueil1',
      retainUntil: '2027-02-20',
    });
    expect(r.value.pass).toMatchObject({ biometric: false, validUntil: '2026-11-22' });
    const claims = decodeCredentialToken(r.value.pass.token, env.keys.publicKeys());
    expect(claims).toMatchObject({ ok: true, value: { lastValidDay: dayNumber(NOW) } });
    expect(claims.ok && claims.value.templateKey).toBeUndefined();
    updatePeopleSiteSettings(env.db, 'lycee-a', { visitorIdNumberAllowed: true });
    expect(visitors.register({ ...input, idDocumentNumber: 'X123' })).toMatchObject({
      ok: true,
      value: { visitor: { idDocumentNumber: 'X123' } },
    });
    expect(visitors.register({ ...input, host: ' ' })).toMatchObject({
      ok: false,
      error: { code: 'VISITOR_ERR_INPUT' },
    });
    expect(visitors.endVisit(r.value.visitor.id, { actor: 'accueil1' })).toEqual({
      ok: true,
      value: { revoked: [r.value.pass.credentialId] },
    });
    t = new Date('2027-02-21T08:00:00Z');
    expect(visitors.purgeExpired()).toEqual({ visitorsDeleted: 2 });
    expect(visitors.get(r.value.visitor.id)).toBeUndefined();
    expect(listReceipts(env.db, 'lycee-a').filter((x) => x.reason === 'retention')).toHaveLength(2);
  });

  it('refuses a key file written with the wrong size or an unusable manifest', () => {
    writeFileSync(path.join(signingKeyDir(env.dataDir), 'keys.json'), '{"version":1,"current":3,"keys":[]}');
    expect(() => openSigningKeyStore(env.dataDir)).toThrow(/not a valid key list/);
  });
});
