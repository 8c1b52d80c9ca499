import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAuditLog } from '../audit/audit-log.js';
import { createConsentService } from '../people/consent.js';
import { openIdPhotoKey } from '../people/id-photos.js';
import { updatePeopleSiteSettings } from '../people/people-sites.js';
import { findStudent, getStudent, getTemplate, listReceipts } from '../people/people-store.js';
import { importRegistry } from '../people/registry-import.js';
import { generateStudents, openPeopleTestEnv, registryCsv, type PeopleTestEnv } from '../people/testing.js';
import { createAgentRepository } from '../repositories/agent-repository.js';
import { createEventRepository } from '../repositories/event-repository.js';
import { createPrivacyService, type PrivacyService } from './privacy-service.js';
import { accessEventAt, storeBiometricData } from './testing.js';

const T0 = Date.parse('2026-03-02T10:00:00.000Z');

describe('export of a person and erasure on request (real SQLite)', () => {
  let env: PeopleTestEnv;
  let privacy: PrivacyService;
  let clock: { ms: number };
  const students = generateStudents(3, 5).map((s, i) =>
    i === 0 ? { ...s, lastName: 'Lévêque', firstName: 'Zoé' } : s,
  );
  let me: number;
  let other: number;
  let myCredential: string;
  const myEvents: string[] = [];
  const otherEvents: string[] = [];

  beforeEach(async () => {
    env = openPeopleTestEnv('portail-privacy-export-');
    clock = { ms: T0 };
    const now = () => new Date(clock.ms);
    privacy = createPrivacyService({
      db: env.db,
      audit: createAuditLog(env.db, { now: () => clock.ms }),
      keys: env.keys,
      agents: createAgentRepository(env.db),
      now,
    });
    expect(
      importRegistry(env.db, { site: 'lycee', bytes: Buffer.from(registryCsv(students)), actor: 'test', now: now() })
        .ok,
    ).toBe(true);
    expect(updatePeopleSiteSettings(env.db, 'lycee', { keepIdPhotos: true }, now()).ok).toBe(true);
    me = findStudent(env.db, 'lycee', students[0]!.externalId)!.id;
    other = findStudent(env.db, 'lycee', students[1]!.externalId)!.id;
    const consent = createConsentService({ db: env.db, keys: env.keys, now });
    for (const party of ['student', 'guardian1', 'guardian2'] as const) {
      const r = consent.record({
        studentId: me,
        party,
        action: 'grant',
        channel: 'paper',
        noticeVersion: '2026-01',
        actor: 'cpe',
      });
      expect(r.ok).toBe(true);
    }
    myCredential = (
      await storeBiometricData(env.db, env.keys, me, { now: now(), idPhotoKey: openIdPhotoKey(env.dataDir) })
    ).credentialId;
    const otherCredential = (await storeBiometricData(env.db, env.keys, other, { now: now() })).credentialId;
    const events = createEventRepository(env.db);
    myEvents.length = 0;
    otherEvents.length = 0;
    for (let i = 0; i < 3; i++) {
      const e = accessEventAt('lycee', T0 + i * 60_000, {
        credentialId: myCredential,
        biometric: true,
        decision: i === 1 ? 'mismatch' : 'confirmed',
        scores: { similarity: 0.7, threshold: 0.4 },
        timingsMs: { credential: 2, window: 700, compare: 1 },
        modelId: 'sface-2021dec',
      });
      events.insert('access', e, new Date(T0).toISOString());
      myEvents.push(e.id);
      const o = accessEventAt('lycee', T0 + i * 60_000, { credentialId: otherCredential });
      events.insert('access', o, new Date(T0).toISOString());
      otherEvents.push(o.id);
    }
  });
  afterEach(() => env.close());

  it('exports everything held about the student, and never a key, a ciphertext or a photo', () => {
    const r = privacy.exportStudent('lycee', me);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const x = r.value.export;
    expect(x.student).toMatchObject({
      id: me,
      lastName: 'Lévêque',
      firstName: 'Zoé',
      externalId: students[0]!.externalId,
    });
    expect(x.consent.history.map((c) => c.party)).toEqual(['student', 'guardian1', 'guardian2']);
    expect(x.consent.status!.parties.every((p) => !p.required || p.state === 'granted')).toBe(true);
    expect(x.credentials).toEqual([expect.objectContaining({ id: myCredential, biometric: true, revokedAt: null })]);
    expect(x.templates).toEqual([
      expect.objectContaining({ credentialId: myCredential, modelId: 'sface-2021dec', modelSha256: 'a'.repeat(64) }),
    ]);
    expect(x.idPhoto.kept).toBe(true);
    expect(x.accessEvents.map((e) => e.id).sort()).toEqual([...myEvents].sort());
    expect(x.accessEvents.map((e) => e.decision)).toEqual(['confirmed', 'mismatch', 'confirmed']);
    expect(x.retention.accessEventsDays).toBe(30);

    const json = JSON.stringify(x);
    for (const key of ['"ciphertext"', '"iv"', '"tag"', '"token"', '"templateKey"', '"jpeg"'])
      expect(json).not.toContain(key);
    const t = getTemplate(env.db, myCredential)!;
    expect(json).not.toContain(Buffer.from(t.ciphertext).toString('base64'));
    expect(json).not.toContain(Buffer.from(t.ciphertext).toString('hex'));
    for (const id of otherEvents) expect(json).not.toContain(id);

    const md = r.value.markdown;
    for (const heading of [
      '# Données détenues sur un élève',
      '## Identité',
      '## Consentement à la vérification faciale',
      '## Badges (identifiants)',
      '## Gabarit biométrique',
      '## Photo d’identité',
      '## Passages aux portails',
      '## Suppressions déjà effectuées',
      '## Durées de conservation',
      '## Vos droits',
    ]) {
      expect(md).toContain(heading);
    }
    expect(md).toContain('| Nom | Lévêque |');
    expect(md).toContain('visage non concordant');
    expect(md).toContain('3 passage(s) enregistré(s)');
    // site time (Paris, UTC+1 in March)
    expect(md).toContain(`| 2026-03-02 11:00 | gate-1 | entrance | ${myCredential} | visage confirmé | oui |`);
  });

  it('refuses a student of another site: no cross-site export or erasure', () => {
    expect(privacy.exportStudent('autre', me)).toMatchObject({ ok: false, error: { code: 'PRIVACY_ERR_STUDENT' } });
    expect(privacy.eraseStudent('autre', me, { actor: 'adm' })).toMatchObject({ ok: false });
    expect(getStudent(env.db, me)).toBeDefined();
  });

  it('erases on request through the people module, with its access events, and leaves the others', () => {
    clock.ms = T0 + 3_600_000;
    const r = privacy.eraseStudent('lycee', me, { actor: 'proviseur' });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.withdrawal.templatesDeleted).toEqual([myCredential]);
    expect(r.value.withdrawal.idPhotoDeleted).toBe(true);
    expect(r.value.accessEventsDeleted).toBe(3);
    expect(getStudent(env.db, me)).toBeUndefined();
    expect(getTemplate(env.db, myCredential)).toBeUndefined();
    const left = env.db
      .prepare<[], { id: string }>("SELECT id FROM events WHERE kind = 'access'")
      .all()
      .map((e) => e.id);
    expect(left.sort()).toEqual([...otherEvents].sort());
    expect(env.db.prepare('SELECT count(*) AS n FROM consent_records WHERE student_id = ?').get(me)).toEqual({ n: 0 });
    const receipts = listReceipts(env.db, 'lycee').filter((x) => x.subject === `student:${me}`);
    expect(receipts.map((x) => x.reason)).toEqual(['erasure-request', 'erasure-request']);
    expect(receipts.every((x) => x.actor === 'proviseur')).toBe(true);
    // nothing to export any more
    expect(privacy.exportStudent('lycee', me).ok).toBe(false);
  });

  it('keeps the access events when asked (an incident under investigation)', () => {
    const r = privacy.eraseStudent('lycee', me, { actor: 'proviseur', keepEvents: true });
    expect(r.ok && r.value.accessEventsDeleted).toBe(0);
    expect(env.db.prepare("SELECT count(*) AS n FROM events WHERE kind = 'access'").get()).toEqual({ n: 6 });
  });
});
