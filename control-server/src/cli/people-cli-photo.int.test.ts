import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEnrolmentVision, type EnrolmentVision } from '../people/enrolment.js';
import { facePhoto, generateStudents, registryCsv } from '../people/testing.js';
import { openDatabase } from '../store/database.js';
import { runPeopleCli } from './people-cli.js';

/**
 * Acceptance 2 of issue #6 on a real photo file: `portail-admin people enrol --photo FILE` deletes
 * FILE once templated (unless --keep-photo); without consent it refuses, leaves FILE untouched and
 * writes nothing. The photo is a faces-dev image copied into tmpfs (/dev/shm): a face never lands
 * on a disk, the repository or /tmp.
 */
const PHOTO = 'Brian_Griese/Brian_Griese_0001.jpg';
const sha256 = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');

describe('portail-admin people enrol: the photo file (tmpfs copy of a real photo, real models)', () => {
  let shm: string;
  let dataDir: string;
  let vision: EnrolmentVision;
  const list = generateStudents(3, 52).map((s) => ({ ...s, birthDate: '01/01/2004' })); // adults

  async function run(...args: string[]): Promise<{ code: number; json: Record<string, unknown> }> {
    const stdout = new PassThrough();
    let out = '';
    stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    const code = await runPeopleCli(
      ['--data-dir', dataDir, ...args],
      { stdout, stderr: new PassThrough(), env: {}, cwd: shm },
      // one model load for the file; the CLI's close() of it is a no-op here
      { openVision: async () => ({ ...vision, close: async () => undefined }) },
    );
    return { code, json: JSON.parse(out || '{}') as Record<string, unknown> };
  }
  const count = (table: string) => {
    const db = openDatabase({ dataDir });
    try {
      return (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
    } finally {
      db.close();
    }
  };

  beforeAll(async () => {
    // tmpfs, never a disk: the copy of the face photo, the card (it holds the token) and the data dir
    shm = mkdtempSync(path.join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'portail-enrol-photo-'));
    dataDir = path.join(shm, 'data');
    vision = await openEnrolmentVision();
    const csv = path.join(shm, 'eleves.csv');
    writeFileSync(csv, registryCsv(list));
    expect((await run('import', '--site', 'lycee-a', '--file', csv)).code).toBe(0);
  }, 120_000);
  afterAll(async () => {
    await vision?.close();
    if (shm) rmSync(shm, { recursive: true, force: true });
  });

  it('runs in tmpfs', () => {
    expect(shm.startsWith('/dev/shm/')).toBe(true);
  });

  it('without consent: refused, the photo untouched, nothing written', async () => {
    const photo = path.join(shm, 'no-consent.jpg');
    copyFileSync(facePhoto(PHOTO), photo);
    const before = sha256(photo);
    const r = await run(
      'enrol',
      '--site',
      'lycee-a',
      '--student',
      list[0]!.externalId,
      '--photo',
      photo,
      '--card-out',
      'c0.png',
    );
    expect(r).toMatchObject({ code: 1, json: { ok: false, error: { code: 'ENROL_ERR_CONSENT' } } });
    expect(sha256(photo)).toBe(before);
    expect(existsSync(path.join(shm, 'c0.png'))).toBe(false);
    expect([count('credentials'), count('templates')]).toEqual([0, 0]);
  });

  it('with consent: enrolled, then the photo file is gone', async () => {
    const s = list[1]!.externalId;
    const consent = await run(
      'consent',
      '--site',
      'lycee-a',
      '--student',
      s,
      '--who',
      'student',
      '--channel',
      'paper',
      '--notice',
      'v1',
    );
    expect(consent.code).toBe(0);
    const photo = path.join(shm, 'consented.jpg');
    copyFileSync(facePhoto(PHOTO), photo);
    const r = await run('enrol', '--site', 'lycee-a', '--student', s, '--photo', photo, '--card-out', 'c1.png');
    expect(r).toMatchObject({ code: 0, json: { ok: true, photoDeleted: true, credential: { biometric: true } } });
    expect(existsSync(photo)).toBe(false);
    expect([count('credentials'), count('templates')]).toEqual([1, 1]);
  });

  it('--keep-photo keeps it', async () => {
    const s = list[2]!.externalId;
    await run(
      'consent',
      '--site',
      'lycee-a',
      '--student',
      s,
      '--who',
      'student',
      '--channel',
      'paper',
      '--notice',
      'v1',
    );
    const photo = path.join(shm, 'kept.jpg');
    copyFileSync(facePhoto(PHOTO), photo);
    const before = sha256(photo);
    const r = await run(
      'enrol',
      '--site',
      'lycee-a',
      '--student',
      s,
      '--photo',
      photo,
      '--qr-out',
      'q2.png',
      '--keep-photo',
    );
    expect(r).toMatchObject({ code: 0, json: { ok: true, photoDeleted: false } });
    expect(sha256(photo)).toBe(before);
  });
});
