import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAuditLog, type AuditLog } from '../audit/audit-log.js';
import { openIdPhotoKey } from '../people/id-photos.js';
import { updatePeopleSiteSettings } from '../people/people-sites.js';
import { findStudent, listReceipts, liveCredentialsOfStudent } from '../people/people-store.js';
import { importRegistry } from '../people/registry-import.js';
import { generateStudents, openPeopleTestEnv, registryCsv, type PeopleTestEnv } from '../people/testing.js';
import { createAgentRepository } from '../repositories/agent-repository.js';
import { createEventRepository } from '../repositories/event-repository.js';
import { createPrivacyService, type PrivacyService } from './privacy-service.js';
import { accessEventAt, storeBiometricData } from './testing.js';

/** Acceptance 3 (pilot): at the end of a pilot, the site's templates and photos are erased, with receipts and a summary. */

const DAY = 86_400_000;
// 10:00 UTC = 11:00 in Paris: the local date is the UTC date
const T0 = Date.parse('2026-03-02T10:00:00.000Z');

describe('pilot mode (real SQLite, fake clock)', () => {
  let env: PeopleTestEnv;
  let clock: { ms: number };
  let audit: AuditLog;
  let privacy: PrivacyService;
  const now = () => new Date(clock.ms);
  const students = generateStudents(5, 3);
  const idOf = (site: string, i: number) => findStudent(env.db, site, students[i]!.externalId)!.id;
  const count = (sql: string, ...p: string[]) => env.db.prepare<string[], { n: number }>(sql).get(...p)!.n;

  beforeEach(async () => {
    env = openPeopleTestEnv('portail-privacy-pilot-');
    clock = { ms: T0 };
    audit = createAuditLog(env.db, { now: () => clock.ms });
    privacy = createPrivacyService({ db: env.db, audit, keys: env.keys, agents: createAgentRepository(env.db), now });
    for (const site of ['lycee', 'autre']) {
      const r = importRegistry(env.db, { site, bytes: Buffer.from(registryCsv(students)), actor: 'test', now: now() });
      expect(r.ok).toBe(true);
      expect(updatePeopleSiteSettings(env.db, site, { keepIdPhotos: true }, now()).ok).toBe(true);
    }
    const idPhotoKey = openIdPhotoKey(env.dataDir);
    for (const i of [0, 1, 2]) {
      await storeBiometricData(env.db, env.keys, idOf('lycee', i), { now: now(), ...(i < 2 ? { idPhotoKey } : {}) });
    }
    // another site, not in a pilot: must not be touched
    await storeBiometricData(env.db, env.keys, idOf('autre', 0), { now: now(), idPhotoKey });
  });
  afterEach(() => env.close());

  it('refuses a pilot that ends in the past or before it starts', () => {
    expect(privacy.declarePilot('lycee', { endsOn: '2026-03-01' }, 'adm').ok).toBe(false);
    expect(privacy.declarePilot('lycee', { startsOn: '2026-03-10', endsOn: '2026-03-05' }, 'adm').ok).toBe(false);
    expect(privacy.declarePilot('lycee', { endsOn: '2027-06-30' }, 'adm').ok).toBe(false);
    expect(privacy.declarePilot('lycee', { endsOn: 'tomorrow' }, 'adm').ok).toBe(false);
    expect(privacy.pilot('lycee').pilot).toBeNull();
  });

  it('erases the templates and photos of the site at the end, with receipts and a summary', async () => {
    const declared = privacy.declarePilot(
      'lycee',
      {
        startsOn: '2026-03-02',
        endsOn: '2026-03-12',
        criteria: { maxMismatchRate: 0.3, maxBiometricMedianMs: 500, minPassages: 5 },
      },
      'adm',
    );
    expect(declared.ok).toBe(true);
    expect(privacy.pilot('lycee').state).toBe('running');

    const events = createEventRepository(env.db);
    const put = (tsMs: number, over: Parameters<typeof accessEventAt>[2]) =>
      events.insert('access', accessEventAt('lycee', tsMs, over), new Date(tsMs).toISOString());
    const bio = { credential: 2, window: 800, compare: 1 };
    for (let i = 0; i < 3; i++) put(T0 + i * 3_600_000, { biometric: true, decision: 'confirmed', timingsMs: bio });
    put(T0 + 4 * 3_600_000, { biometric: true, decision: 'mismatch', timingsMs: { ...bio, window: 1200 } });
    for (let i = 0; i < 4; i++)
      put(T0 + DAY + i * 60_000, { biometric: false, decision: 'accepted', timingsMs: { credential: 1.5 } });
    // the day before the pilot: not part of its summary
    put(T0 - DAY, { biometric: true, decision: 'mismatch', timingsMs: bio });

    const lycee = {
      templates: () => count('SELECT count(*) AS n FROM templates WHERE site = ?', 'lycee'),
      photos: () => count('SELECT count(*) AS n FROM id_photos WHERE site = ?', 'lycee'),
    };
    expect([lycee.templates(), lycee.photos()]).toEqual([3, 2]);

    // the last day of the pilot: nothing happens yet
    clock.ms = T0 + 10 * DAY;
    await privacy.runPurge({ trigger: 'schedule' });
    expect([lycee.templates(), lycee.photos()]).toEqual([3, 2]);
    expect(privacy.pilot('lycee').state).toBe('running');

    // the day after: ended by the next purge run
    clock.ms = T0 + 11 * DAY;
    const report = await privacy.runPurge({ trigger: 'schedule' });
    expect([lycee.templates(), lycee.photos()]).toEqual([0, 0]);
    // the other site keeps its data
    expect(count('SELECT count(*) AS n FROM templates WHERE site = ?', 'autre')).toBe(1);
    expect(count('SELECT count(*) AS n FROM id_photos WHERE site = ?', 'autre')).toBe(1);

    const ended = report.sites.find((s) => s.site === 'lycee')!.pilotEnded!;
    expect(ended.erasure).toMatchObject({
      students: 3,
      templatesDeleted: 3,
      idPhotosDeleted: 2,
      credentialsRevoked: 3,
      badgeCredentialsIssued: 3,
      remainingTemplates: 0,
      remainingIdPhotos: 0,
    });
    expect(ended.summary).toMatchObject({
      passages: 8,
      biometricPassages: 4,
      badgeOnlyPassages: 4,
      confirmations: 3,
      mismatches: 1,
      mismatchRate: 0.25,
      decisions: { confirmed: 3, mismatch: 1, accepted: 4 },
    });
    expect(ended.summary.timing.badgeOnly.medianMs).toBe(1.5);
    expect(ended.summary.timing.biometric.medianMs).toBe(803);
    expect(ended.summary.timing.biometric.p95Ms).toBe(1203);
    expect(ended.summary.timing.medianRatio).toBe(535.333);
    expect(ended.summary.criteria).toEqual([
      { criterion: 'minPassages', target: 5, value: 8, met: true },
      { criterion: 'maxMismatchRate', target: 0.3, value: 0.25, met: true },
      { criterion: 'maxBiometricMedianMs', target: 500, value: 803, met: false },
    ]);

    // one receipt per student from the people module, and the pilot end in the audit log
    const receipts = listReceipts(env.db, 'lycee').filter((r) => r.reason === 'pilot-ended');
    expect(receipts.map((r) => r.subject).sort()).toEqual([0, 1, 2].map((i) => `student:${idOf('lycee', i)}`).sort());
    const row = [...audit.iterate()].find((r) => r.action === 'pilot.end')!;
    expect(row).toMatchObject({ site: 'lycee', outcome: 'ok', actor: 'system' });
    expect(row.details).toMatchObject({ erasure: { templatesDeleted: 3 }, summary: { passages: 8 } });
    // the badge goes on: each student holds a live badge-only credential
    for (const i of [0, 1, 2]) {
      const live = liveCredentialsOfStudent(env.db, idOf('lycee', i));
      expect(live).toHaveLength(1);
      expect(live[0]!.biometric).toBe(false);
    }
    const view = privacy.pilot('lycee');
    expect(view.state).toBe('ended');
    expect(view.pilot!.summary!.passages).toBe(8);

    // enrolled after the end (no new pilot declared): erased at the next run
    clock.ms = T0 + 12 * DAY;
    await storeBiometricData(env.db, env.keys, idOf('lycee', 3), { now: now() });
    expect(lycee.templates()).toBe(1);
    const after = await privacy.runPurge({ trigger: 'schedule' });
    expect(lycee.templates()).toBe(0);
    expect(after.sites.find((s) => s.site === 'lycee')!.deleted.pilotTemplates).toBe(1);

    // a new pilot may be declared after the end
    const again = privacy.declarePilot('lycee', { endsOn: '2026-04-30' }, 'adm');
    expect(again.ok && again.value.created).toBe(true);
    expect(privacy.pilot('lycee').state).toBe('running');
  });
});
