import { randomBytes } from 'node:crypto';
import { encryptTemplate } from '@portail/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { issueStudentCredentialInTx } from './credentials.js';
import { findStudent, getTemplate, insertTemplate, listReceipts, listStudents } from './people-store.js';
import { importRegistry, type ImportProgress } from './registry-import.js';
import {
  generateStudents,
  openPeopleTestEnv,
  registryCsv,
  registryLine,
  REGISTRY_HEADER,
  toWindows1252,
  type GeneratedStudent,
  type PeopleTestEnv,
} from './testing.js';

const utf8 = (s: string) => new TextEncoder().encode(s);

/**
 * 2,000 students, 20 of them on malformed lines, each with exactly one fault: 5 empty last names,
 * 5 impossible dates, 5 non-dates, 5 ids repeating an earlier line. Returns the CSV and the
 * expected (line, column) of each fault.
 */
function schoolFile(): { csv: string; good: GeneratedStudent[]; faults: { line: number; column: string }[] } {
  const all = generateStudents(2000, 7);
  const faults: { line: number; column: string }[] = [];
  const lines: string[] = [];
  const good: GeneratedStudent[] = [];
  all.forEach((s, i) => {
    const line = i + 2; // after the header
    const k = i % 100 === 50 ? Math.floor(i / 100) : -1; // 20 rows: i = 50, 150, …, 1950
    if (k < 0) {
      good.push(s);
      lines.push(registryLine(s));
    } else if (k < 5) {
      lines.push(registryLine({ ...s, lastName: '' }));
      faults.push({ line, column: 'nom' });
    } else if (k < 10) {
      lines.push(registryLine({ ...s, birthDate: '31/02/2009' }));
      faults.push({ line, column: 'date de naissance' });
    } else if (k < 15) {
      lines.push(registryLine({ ...s, birthDate: 'inconnue' }));
      faults.push({ line, column: 'date de naissance' });
    } else {
      lines.push(registryLine({ ...s, externalId: all[i - 1]!.externalId }));
      faults.push({ line, column: 'identifiant élève' });
    }
  });
  return { csv: `${REGISTRY_HEADER}\r\n${lines.join('\r\n')}\r\n`, good, faults };
}

describe('registry import (real SQLite)', () => {
  let env: PeopleTestEnv;
  beforeEach(() => {
    env = openPeopleTestEnv();
  });
  afterEach(() => env.close());

  const count = () => (env.db.prepare('SELECT count(*) AS n FROM students').get() as { n: number }).n;

  it('imports 2,000 rows with 20 malformed: 1,980 students, 20 errors naming each line and column, with progress', () => {
    const { csv, good, faults } = schoolFile();
    const progress: ImportProgress[] = [];
    const r = importRegistry(env.db, {
      site: 'lycee-a',
      bytes: toWindows1252(csv),
      actor: 'test',
      onProgress: (p) => progress.push(p),
    });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const rep = r.value;
    expect(rep).toMatchObject({
      encoding: 'windows-1252',
      delimiter: ';',
      rows: 1980,
      inserted: 1980,
      updated: 0,
      unchanged: 0,
      departed: 0,
    });
    expect(rep.errors.map((e) => ({ line: e.line, column: e.column }))).toEqual(faults);
    expect(rep.errors.every((e) => e.reason.length > 0)).toBe(true);
    expect(count()).toBe(1980);
    // accents survive the Windows-1252 decoding
    const sample = good.find((s) => /[éèêëçïü]/i.test(s.lastName + s.firstName))!;
    expect(findStudent(env.db, 'lycee-a', sample.externalId)).toMatchObject({
      lastName: sample.lastName,
      firstName: sample.firstName,
      className: sample.className,
      status: 'active',
    });
    const writes = progress.filter((p) => p.phase === 'write');
    expect(writes.length).toBeGreaterThanOrEqual(50);
    expect(writes.at(-1)).toEqual({ phase: 'write', done: 1980, total: 1980 });
    expect(writes.every((p, i) => i === 0 || p.done > writes[i - 1]!.done)).toBe(true);
  });

  it('is idempotent: the same file again changes nothing', () => {
    const { csv } = schoolFile();
    const first = importRegistry(env.db, { site: 'lycee-a', bytes: utf8(csv), actor: 'test' });
    expect(first.ok).toBe(true);
    const before = JSON.stringify(listStudents(env.db, 'lycee-a'));
    const again = importRegistry(env.db, {
      site: 'lycee-a',
      bytes: utf8(csv),
      actor: 'test',
      now: new Date(Date.now() + 60_000),
    });
    expect(again).toMatchObject({
      ok: true,
      value: { inserted: 0, updated: 0, unchanged: 1980, departed: 0, changes: [] },
    });
    // not even updated_at moved
    expect(JSON.stringify(listStudents(env.db, 'lycee-a'))).toBe(before);
  });

  it('a modified file updates only what changed, inserts newcomers, marks the absent departed', () => {
    const students = generateStudents(300, 3);
    expect(importRegistry(env.db, { site: 'lycee-a', bytes: utf8(registryCsv(students)), actor: 'test' }).ok).toBe(
      true,
    );
    const next = students.map((s) => ({ ...s }));
    next[10]!.className = next[10]!.className === '2NDE1' ? '2NDE2' : '2NDE1';
    next[20]!.lastName = `${next[20]!.lastName}-Dupuis`;
    next[20]!.firstName = 'Ève';
    next[30]!.birthDate = '01/01/2008';
    const gone = next.splice(200, 3);
    const newcomers = generateStudents(304, 3)
      .slice(300)
      .map((s, i) => ({ ...s, externalId: `N${i}` }));
    const r = importRegistry(env.db, {
      site: 'lycee-a',
      bytes: utf8(registryCsv([...next, ...newcomers])),
      actor: 'cli:alice',
    });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value).toMatchObject({ inserted: 4, updated: 3, unchanged: 294, departed: 3, reactivated: 0 });
    expect(r.value.changes).toEqual([
      { externalId: students[10]!.externalId, line: 12, fields: ['className'] },
      { externalId: students[20]!.externalId, line: 22, fields: ['lastName', 'firstName'] },
      { externalId: students[30]!.externalId, line: 32, fields: ['birthDate'] },
    ]);
    expect(r.value.departedIds.sort()).toEqual(gone.map((s) => s.externalId).sort());
    // departed students are kept, marked, with a receipt signed by `system`
    for (const s of gone) expect(findStudent(env.db, 'lycee-a', s.externalId)).toMatchObject({ status: 'departed' });
    const receipts = listReceipts(env.db, 'lycee-a');
    expect(receipts).toHaveLength(3);
    expect(receipts.every((x) => x.actor === 'system' && x.reason === 'departed')).toBe(true);
    // a departed student back in the next file is reactivated
    const back = importRegistry(env.db, {
      site: 'lycee-a',
      bytes: utf8(registryCsv([...next, ...newcomers, gone[0]!])),
      actor: 'test',
    });
    expect(back).toMatchObject({ ok: true, value: { updated: 1, reactivated: 1, departed: 0 } });
    expect(findStudent(env.db, 'lycee-a', gone[0]!.externalId)).toMatchObject({ status: 'active', departedAt: null });
  });

  it('departure withdraws biometrics and revokes credentials in the same transaction', () => {
    const students = generateStudents(30, 5);
    importRegistry(env.db, { site: 'lycee-a', bytes: utf8(registryCsv(students)), actor: 'test' });
    const leaver = findStudent(env.db, 'lycee-a', students[0]!.externalId)!;
    const now = new Date();
    // an enrolled student: a biometric credential with its ciphertext (random plaintext: no model needed here)
    const issued = env.db.transaction(() => {
      const r = issueStudentCredentialInTx(env.db, env.keys, leaver, {
        actor: 'test',
        reason: 'first',
        biometric: true,
        now,
      });
      insertTemplate(
        env.db,
        encryptTemplate(randomBytes(2048), randomBytes(32), {
          credentialId: r.record.id,
          modelId: 'm',
          modelSha256: 'a'.repeat(64),
          encoding: 'f32',
        }),
        'lycee-a',
        now.toISOString(),
      );
      return r.record;
    })();
    const r = importRegistry(env.db, { site: 'lycee-a', bytes: utf8(registryCsv(students.slice(1))), actor: 'test' });
    expect(r).toMatchObject({ ok: true, value: { departed: 1, credentialsRevoked: 1, templatesDeleted: 1 } });
    expect(getTemplate(env.db, issued.id)).toBeUndefined();
    expect(env.db.prepare('SELECT revoked_reason FROM credentials WHERE id = ?').get(issued.id)).toEqual({
      revoked_reason: 'departed',
    });
    expect(listReceipts(env.db, 'lycee-a')[0]).toMatchObject({
      subject: `student:${leaver.id}`,
      what: {
        templates: [issued.id],
        credentialsRevoked: [issued.id],
        idPhoto: false,
        trigger: 'registry-import',
        importedBy: 'test',
      },
      actor: 'system',
    });
  });

  it('a malformed row does not make its student depart', () => {
    const students = generateStudents(30, 9);
    importRegistry(env.db, { site: 'lycee-a', bytes: utf8(registryCsv(students)), actor: 'test' });
    const broken = registryCsv(students.map((s, i) => (i === 4 ? { ...s, birthDate: '??' } : s)));
    const r = importRegistry(env.db, { site: 'lycee-a', bytes: utf8(broken), actor: 'test' });
    expect(r).toMatchObject({
      ok: true,
      value: { departed: 0, unchanged: 29, errors: [{ line: 6, externalId: students[4]!.externalId }] },
    });
  });

  it('refuses, writing nothing: wrong encoding, missing columns, a file that would empty the school', () => {
    const students = generateStudents(100, 11);
    const text = registryCsv(students);
    const utf16 = Uint8Array.from([
      0xff,
      0xfe,
      ...[...text].flatMap((c) => [c.charCodeAt(0) & 0xff, c.charCodeAt(0) >> 8]),
    ]);
    expect(importRegistry(env.db, { site: 'lycee-a', bytes: utf16, actor: 'test' })).toMatchObject({
      ok: false,
      error: { code: 'REGISTRY_ERR_ENCODING', message: expect.stringContaining('CSV UTF-8') },
    });
    const noDate = text.replace('Date de naissance', 'Remarque');
    expect(importRegistry(env.db, { site: 'lycee-a', bytes: utf8(noDate), actor: 'test' })).toMatchObject({
      ok: false,
      error: { code: 'REGISTRY_ERR_COLUMNS', message: expect.stringContaining('date de naissance') },
    });
    expect(count()).toBe(0);
    expect(env.db.prepare('SELECT count(*) AS n FROM people_sites').get()).toEqual({ n: 0 });

    expect(importRegistry(env.db, { site: 'lycee-a', bytes: utf8(text), actor: 'test' }).ok).toBe(true);
    const partial = registryCsv(students.slice(0, 30));
    const r = importRegistry(env.db, { site: 'lycee-a', bytes: utf8(partial), actor: 'test' });
    expect(r).toMatchObject({
      ok: false,
      error: { code: 'REGISTRY_ERR_MASS_DEPARTURE', message: expect.stringMatching(/^70 of the 100 active students/) },
    });
    expect(listStudents(env.db, 'lycee-a').every((s) => s.status === 'active')).toBe(true);
    expect(
      importRegistry(env.db, { site: 'lycee-a', bytes: utf8(partial), actor: 'test', allowMassDeparture: true }),
    ).toMatchObject({
      ok: true,
      value: { departed: 70 },
    });
  });

  it('keeps sites apart: the same pupil id at two sites is two students', () => {
    const students = generateStudents(5, 13);
    importRegistry(env.db, { site: 'lycee-a', bytes: utf8(registryCsv(students)), actor: 'test' });
    const r = importRegistry(env.db, { site: 'lycee-b', bytes: utf8(registryCsv(students)), actor: 'test' });
    expect(r).toMatchObject({ ok: true, value: { inserted: 5, departed: 0 } });
    expect(r.ok && r.value.siteCode).toBe(2);
    expect(count()).toBe(10);
    expect(
      importRegistry(env.db, { site: 'Lycée A', bytes: utf8(registryCsv(students)), actor: 'test' }),
    ).toMatchObject({
      ok: false,
      error: { code: 'REGISTRY_ERR_SITE' },
    });
  });
});
