import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { decodeCredentialToken, withDecryptedTemplate } from '@portail/protocol';
import * as jsQRModule from 'jsqr';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findStudent, getTemplate } from '../../people/people-store.js';
import { openSigningKeyStore } from '../../people/signing-key-store.js';
import {
  facePhoto,
  generateStudents,
  livenessPhoto,
  multipartBody,
  REGISTRY_HEADER,
  registryCsv,
  toWindows1252,
} from '../../people/testing.js';
import type { LiveMessage } from '../../services/live-bus.js';
import { buildAuthTestApp, login, type AuthTestApp, type LoggedIn } from '../../test-support/auth.js';
import { liveFilterOf } from '../auth/scope.js';

/**
 * The people routes end to end through `app.inject`, with the real models (YuNet, embedder,
 * liveness) and real photos read in place: import jobs and their pushes, consent, enrolment and
 * every refusal of acceptance 5 (each with its code, nothing written), cards, re-issue,
 * withdrawal, the sync state. No photo is written anywhere: uploads are buffers in memory.
 */
const jsQR = (
  jsQRModule as unknown as { default: (d: Uint8ClampedArray, w: number, h: number) => { binaryData: number[] } | null }
).default;
const NO_FACE_HEIC = fileURLToPath(new URL('../../people/fixtures/no-face.heic', import.meta.url));
const BRIAN = 'Brian_Griese/Brian_Griese_0001.jpg';
const TWO_FACES = 'Andrew_Shutley/Andrew_Shutley_0001.jpg';

type Json = Record<string, unknown>;

async function qrOf(png: Buffer): Promise<Uint8Array> {
  const { data, info } = await sharp(png).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  const r = jsQR(new Uint8ClampedArray(data.buffer, data.byteOffset, data.length), info.width, info.height);
  if (!r) throw new Error('no QR code in the image');
  return Uint8Array.from(r.binaryData);
}

describe('people routes (inject, real SQLite, real models)', () => {
  let t: AuthTestApp;
  let adm: LoggedIn;
  const pushed: LiveMessage[] = [];
  // adults (own consent only), except the last two: minors, whose guardians consent too
  const students = generateStudents(30, 63).map((s, i) => ({ ...s, birthDate: i < 28 ? '03/04/2005' : '03/04/2012' }));
  const idOf = (k: number) => findStudent(t.db, 's1', students[k]!.externalId)!.id;
  const base = '/api/sites/s1';

  const upload = (url: string, bytes: Uint8Array, filename = 'photo.jpg', contentType = 'image/jpeg') => {
    const body = multipartBody(bytes, { filename, contentType });
    return t.app.inject({ method: 'POST', url, headers: { ...adm.headers, ...body.headers }, payload: body.payload });
  };
  const post = (url: string, payload?: Json) =>
    t.app.inject({ method: 'POST', url, headers: adm.headers, ...(payload ? { payload } : {}) });
  const get = (url: string) => t.app.inject({ method: 'GET', url, headers: adm.headers });
  const count = (sql: string) => (t.db.prepare(sql).get() as { n: number }).n;
  const written = () => ({
    credentials: count('SELECT count(*) AS n FROM credentials'),
    templates: count('SELECT count(*) AS n FROM templates'),
    consents: count('SELECT count(*) AS n FROM consent_records'),
    students: count("SELECT count(*) AS n FROM students WHERE status = 'active'"),
  });
  const grant = (k: number, party = 'student') =>
    post(`${base}/students/${idOf(k)}/consents`, { party, action: 'grant', channel: 'paper', noticeVersion: 'v2' });

  beforeAll(async () => {
    t = await buildAuthTestApp();
    await t.addUser('adm', [{ role: 'site_admin', site: 's1' }]);
    adm = await login(t.app, 'adm');
    t.bus.subscribe((m) => pushed.push(m));
  });
  afterAll(async () => {
    await t?.close();
  });

  describe('registry import', () => {
    it('imports a Windows-1252 file as a job: 202, pushed progress without names, pollable report', async () => {
      const res = await upload(
        `${base}/students/imports`,
        toWindows1252(registryCsv(students)),
        'eleves.csv',
        'text/csv',
      );
      expect(res.statusCode, res.body).toBe(202);
      const { job } = res.json<{ job: { id: string; state: string } }>();
      expect(res.headers.location).toBe(`${base}/students/imports/${job.id}`);
      await t.people.imports.idle();
      const polled = await get(`${base}/students/imports/${job.id}`);
      expect(polled.statusCode).toBe(200);
      expect(polled.json()).toMatchObject({
        job: { id: job.id, state: 'done', counts: { rows: 30, inserted: 30, errors: 0 } },
        report: { encoding: 'windows-1252', inserted: 30 },
      });
      const mine = pushed.filter((m) => m.type === 'people_import' && m.job.id === job.id);
      const states = mine.map((m) => (m.type === 'people_import' ? m.job.state : null));
      expect(states[0]).toBe('queued');
      expect(states).toContain('running');
      expect(states.at(-1)).toBe('done');
      // progress carries counts only: no name, no pupil id
      const text = JSON.stringify(mine);
      for (const s of students) {
        expect(text).not.toContain(s.externalId);
        expect(text).not.toContain(`"${s.lastName}"`);
      }
      expect(mine.at(-1)).toMatchObject({ site: 's1', job: { counts: { inserted: 30 } } });
    });

    it('reports malformed lines with line, column and reason, and imports the rest', async () => {
      const csv = registryCsv(students, ['E999001;Nouveau;Élève;2NDE1;31/02/2009']);
      const res = await upload(`${base}/students/imports`, Buffer.from(csv), 'eleves.csv', 'text/csv');
      expect(res.statusCode).toBe(202);
      await t.people.imports.idle();
      const polled = (await get(`${base}/students/imports/${res.json<{ job: { id: string } }>().job.id}`)).json<{
        report: { errors: Array<{ line: number; column: string | null; reason: string }>; unchanged: number };
      }>();
      expect(polled.report.unchanged).toBe(30);
      expect(polled.report.errors).toEqual([
        expect.objectContaining({ line: 32, column: expect.stringMatching(/naissance/i), reason: expect.any(String) }),
      ]);
    });

    it('refuses a wrong encoding, missing columns and an oversized file with a clear code; nothing written', async () => {
      const before = written();
      const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(registryCsv(students), 'utf16le')]);
      const enc = await upload(`${base}/students/imports`, utf16, 'eleves.csv', 'text/csv');
      expect(enc.statusCode).toBe(400);
      expect(enc.json()).toMatchObject({ error: 'REGISTRY_ERR_ENCODING', message: expect.any(String) });

      const noDate = [REGISTRY_HEADER.replace(';Date de naissance', ''), 'E1;Martin;Léa;2NDE1'].join('\r\n');
      const cols = await upload(`${base}/students/imports`, Buffer.from(noDate), 'eleves.csv', 'text/csv');
      expect(cols.statusCode).toBe(400);
      expect(cols.json()).toMatchObject({ error: 'REGISTRY_ERR_COLUMNS' });

      const huge = Buffer.alloc(4 * 1024 * 1024 + 1, 0x41);
      const big = await upload(`${base}/students/imports`, huge, 'eleves.csv', 'text/csv');
      expect(big.statusCode).toBe(413);
      expect(big.json()).toMatchObject({ error: 'REGISTRY_ERR_TOO_LARGE' });

      const notMultipart = await post(`${base}/students/imports`, { csv: 'x' });
      expect(notMultipart.json()).toMatchObject({ error: 'UPLOAD_ERR_NOT_MULTIPART' });
      expect(written()).toEqual(before);
    });

    it('a file that would mark most of the school departed fails its job and writes nothing', async () => {
      const before = written();
      const res = await upload(
        `${base}/students/imports`,
        Buffer.from(registryCsv(students.slice(0, 5))),
        'e.csv',
        'text/csv',
      );
      expect(res.statusCode).toBe(202);
      await t.people.imports.idle();
      const polled = (await get(`${base}/students/imports/${res.json<{ job: { id: string } }>().job.id}`)).json();
      expect(polled).toMatchObject({
        job: { state: 'failed', error: { code: 'REGISTRY_ERR_MASS_DEPARTURE' } },
        report: null,
      });
      expect(written()).toEqual(before);
    });
  });

  describe('students', () => {
    it('lists with search (accents and case ignored) and consent state; detail; each read audited', async () => {
      const target = students[0]!;
      const res = await get(`${base}/students?q=${encodeURIComponent(target.externalId.toLowerCase())}`);
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({
        total: 1,
        students: [{ externalId: target.externalId, consent: 'none', credential: null }],
      });
      const accentless = target.lastName
        .normalize('NFD')
        .replace(/\p{Diacritic}/gu, '')
        .toUpperCase();
      const byName = (await get(`${base}/students?q=${encodeURIComponent(accentless)}`)).json<{
        students: Array<{ lastName: string }>;
      }>();
      expect(byName.students.length).toBeGreaterThan(0);
      expect(byName.students.every((s) => s.lastName === target.lastName)).toBe(true);
      const all = (await get(`${base}/students?limit=500`)).json<{ total: number }>();
      // the malformed line of the previous import was skipped
      expect(all.total).toBe(30);

      const detail = await get(`${base}/students/${idOf(0)}`);
      expect(detail.json()).toMatchObject({
        student: { externalId: target.externalId },
        consent: { minor: false },
        canEnrol: { ok: false, reason: 'consent-missing' },
        credentials: [],
      });
      expect((await get(`${base}/students/999999`)).statusCode).toBe(404);
      const actions = [...t.audit.iterate()].map((e) => `${e.action}:${e.target}`);
      expect(actions).toContain('people.list:site:s1');
      expect(actions).toContain(`people.read:student:${idOf(0)}`);
    });
  });

  describe('consent and enrolment', () => {
    it('without consent: 409 ENROL_ERR_CONSENT with what is missing, nothing written', async () => {
      const before = written();
      const res = await upload(`${base}/students/${idOf(1)}/enrolment`, readFileSync(facePhoto(BRIAN)));
      expect(res.statusCode).toBe(409);
      expect(res.json()).toMatchObject({
        error: 'ENROL_ERR_CONSENT',
        details: { missing: [{ party: 'student', state: 'none' }] },
      });
      expect(written()).toEqual(before);
    });

    it('a minor needs the guardians too; the guardian count is settable', async () => {
      const k = 29;
      expect((await grant(k)).statusCode).toBe(201);
      const detail = (await get(`${base}/students/${idOf(k)}`)).json<{ canEnrol: Json }>();
      expect(detail.canEnrol).toMatchObject({
        ok: false,
        missing: [{ party: 'guardian1' }, { party: 'guardian2' }],
      });
      const put = await t.app.inject({
        method: 'PUT',
        url: `${base}/students/${idOf(k)}/guardians`,
        headers: adm.headers,
        payload: { count: 1 },
      });
      expect(put.statusCode).toBe(200);
      expect((await grant(k, 'guardian1')).statusCode).toBe(201);
      expect((await get(`${base}/students/${idOf(k)}`)).json()).toMatchObject({ canEnrol: { ok: true } });
      // a second guardian no longer on record cannot consent
      expect((await grant(k, 'guardian2')).json()).toMatchObject({ error: 'CONSENT_ERR_INPUT' });
    });

    it('enrols a consenting student from an uploaded photo; the card and QR carry the token, once', async () => {
      expect((await grant(1)).statusCode).toBe(201);
      const res = await upload(`${base}/students/${idOf(1)}/enrolment`, readFileSync(facePhoto(BRIAN)));
      expect(res.statusCode, res.body).toBe(201);
      const body = res.json<{
        credential: { id: string; biometric: boolean; hasTemplate: boolean; downloadableUntil: string };
        downloads: { card: string; pdf: string; qr: string };
        liveness: number;
      }>();
      expect(body.credential).toMatchObject({
        biometric: true,
        hasTemplate: true,
        downloadableUntil: expect.any(String),
      });
      expect(t.syncNotified).toContain('s1');

      const card = await get(body.downloads.card);
      expect(card.statusCode).toBe(200);
      expect(card.headers['cache-control']).toBe('no-store');
      const qr = await get(body.downloads.qr);
      const token = await qrOf(card.rawPayload);
      expect(Buffer.from(token).equals(Buffer.from(await qrOf(qr.rawPayload)))).toBe(true);
      const claims = decodeCredentialToken(token, openSigningKeyStore(t.dataDir).publicKeys());
      expect(claims).toMatchObject({ ok: true, value: { credentialId: body.credential.id } });
      if (!claims.ok) return;
      // the key in the token opens the stored ciphertext: a unit-norm embedding
      const norm = withDecryptedTemplate(getTemplate(t.db, body.credential.id)!, claims.value.templateKey!, (plain) =>
        Math.hypot(...new Float32Array(plain.buffer.slice(plain.byteOffset, plain.byteOffset + plain.byteLength))),
      );
      expect(norm).toBeCloseTo(1, 3);
      const pdf = await get(body.downloads.pdf);
      expect(pdf.headers['content-type']).toBe('application/pdf');
      expect(pdf.rawPayload.subarray(0, 5).toString()).toBe('%PDF-');

      // the token is held in memory for a while only: the credential says until when
      const held = t.people.credentialView(t.people.credentials.currentOf(idOf(1))!);
      expect(held.downloadableUntil).not.toBeNull();
      const audit = [...t.audit.iterate()];
      expect(audit.find((e) => e.action === 'people.enrol' && e.outcome === 'ok')).toMatchObject({
        target: `student:${idOf(1)}`,
        details: { credentialId: body.credential.id },
      });
      expect(
        audit.filter((e) => e.action === 'credential.card' && e.target === `credential:${body.credential.id}`),
      ).toHaveLength(3);
    });

    it('refuses bad photos over HTTP, each with a clear code, nothing written (acceptance 5)', async () => {
      expect((await grant(2)).statusCode).toBe(201);
      const url = `${base}/students/${idOf(2)}/enrolment`;
      const brian = readFileSync(facePhoto(BRIAN));
      const before = written();
      const cases: Array<[string, Buffer, number, string, string?]> = [
        ['corrupt', brian.subarray(0, 3000), 422, 'ENROL_ERR_CORRUPT_IMAGE'],
        ['two faces', readFileSync(facePhoto(TWO_FACES)), 422, 'ENROL_ERR_SEVERAL_FACES'],
        ['printed photo', readFileSync(livenessPhoto('image_F1.jpg')), 422, 'ENROL_ERR_SPOOF'],
        ['screen replay', readFileSync(livenessPhoto('image_F2.jpg')), 422, 'ENROL_ERR_SPOOF'],
        ['no face (HEIC)', readFileSync(NO_FACE_HEIC), 422, 'ENROL_ERR_NO_FACE', 'image/heic'],
        ['not an image', Buffer.from('%PDF-1.4 not a photo'), 415, 'ENROL_ERR_PHOTO_FORMAT'],
        ['oversized', Buffer.alloc(8 * 1024 * 1024 + 1, 0xff), 413, 'ENROL_ERR_PHOTO_TOO_LARGE'],
        ['too small', await sharp(brian).resize(100, 100).jpeg().toBuffer(), 422, 'ENROL_ERR_PHOTO_DIMENSIONS'],
      ];
      for (const [what, bytes, status, code, type] of cases) {
        const res = await upload(url, bytes, 'p', type ?? 'image/jpeg');
        expect(res.statusCode, `${what}: ${res.body}`).toBe(status);
        expect(res.json(), what).toMatchObject({ error: code, message: expect.any(String) });
      }
      expect(written()).toEqual(before);
      const failed = [...t.audit.iterate()].filter(
        (e) => e.action === 'people.enrol' && e.outcome === 'failed' && e.target === `student:${idOf(2)}`,
      );
      expect(failed.map((e) => (e.details as { code: string }).code).sort()).toEqual(cases.map((c) => c[3]).sort());
    });

    it('a consent withdrawal deletes the template and revokes the biometric credential, with a badge in its place', async () => {
      const before = t.people.credentials.currentOf(idOf(1))!;
      expect(before.biometric).toBe(true);
      const res = await post(`${base}/students/${idOf(1)}/consents`, {
        party: 'student',
        action: 'withdraw',
        channel: 'email',
        noticeVersion: 'v2',
      });
      expect(res.statusCode).toBe(201);
      expect(res.json()).toMatchObject({
        status: {
          parties: expect.arrayContaining([expect.objectContaining({ party: 'student', state: 'withdrawn' })]),
        },
        withdrawal: {
          templatesDeleted: [before.id],
          credentialsRevoked: [before.id],
          replacement: { biometric: false },
        },
      });
      expect(getTemplate(t.db, before.id)).toBeUndefined();
      // the revoked card is no longer downloadable
      expect((await get(`${base}/credentials/${before.id}/card.png`)).json()).toMatchObject({
        error: 'CREDENTIAL_ERR_REVOKED',
      });
    });
  });

  describe('credentials', () => {
    it('issue, refuse a second issue, re-issue, revoke; badge cards re-print identically', async () => {
      const id = idOf(5);
      const issued = await post(`${base}/students/${id}/credentials`);
      expect(issued.statusCode).toBe(201);
      const c1 = issued.json<{ credential: { id: string; biometric: boolean } }>().credential;
      expect(c1.biometric).toBe(false);
      expect((await post(`${base}/students/${id}/credentials`)).json()).toMatchObject({
        error: 'CREDENTIAL_ERR_EXISTS',
      });
      const qrA = (await get(`${base}/credentials/${c1.id}/qr.png`)).rawPayload;
      const re = await post(`${base}/students/${id}/credentials/reissue`, { reason: 'lost card' });
      expect(re.statusCode).toBe(201);
      expect(re.json()).toMatchObject({ revoked: [c1.id], biometrics: 'none' });
      const c2 = re.json<{ credential: { id: string } }>().credential.id;
      expect(await qrOf((await get(`${base}/credentials/${c2}/qr.png`)).rawPayload)).not.toEqual(await qrOf(qrA));
      expect((await post(`${base}/students/${id}/credentials/reissue`, { token: 'not-a-token' })).json()).toMatchObject(
        {
          error: 'CREDENTIAL_ERR_TOKEN',
        },
      );
      const rev = await post(`${base}/credentials/${c2}/revoke`, { reason: 'fraud' });
      expect(rev.statusCode).toBe(200);
      expect((await post(`${base}/credentials/${c2}/revoke`, {})).json()).toMatchObject({
        error: 'CREDENTIAL_ERR_REVOKED',
      });
      expect((await get(`${base}/credentials/cnope0000/card.png`)).statusCode).toBe(404);
    });

    it('withdrawal and departure; the sync state shows the version and what each agent acknowledged', async () => {
      const w = await post(`${base}/students/${idOf(6)}/withdrawal`);
      expect(w.statusCode).toBe(200);
      const d = await post(`${base}/students/${idOf(7)}/departure`);
      expect(d.statusCode).toBe(200);
      expect(d.json()).toMatchObject({ receipt: { reason: 'departed' } });
      expect((await get(`${base}/students?q=${students[7]!.externalId}`)).json()).toMatchObject({ total: 0 });
      expect((await get(`${base}/students?status=departed&q=${students[7]!.externalId}`)).json()).toMatchObject({
        total: 1,
      });

      const version = (await get(`${base}/sync`)).json<{ version: number }>().version;
      expect(version).toBeGreaterThan(0);
      t.agents.applySyncState(
        {
          v: 1,
          site: 's1',
          agent: 'gate-1',
          ts: new Date().toISOString(),
          appliedVersion: version - 1,
          result: 'applied',
          receivedVersion: version - 1,
          templateCount: 1,
          revocationCount: 2,
        },
        new Date().toISOString(),
      );
      const sync = (await get(`${base}/sync`)).json();
      expect(sync).toMatchObject({
        site: 's1',
        version,
        agents: [{ agent: 'gate-1', appliedVersion: version - 1, result: 'applied', upToDate: false }],
      });
    });
  });

  it('pushes import progress only to those who may import at the site', () => {
    const msg: LiveMessage = {
      type: 'people_import',
      site: 's1',
      job: {
        id: 'x',
        site: 's1',
        state: 'done',
        phase: null,
        done: 1,
        total: 1,
        createdAt: '',
        finishedAt: '',
        counts: null,
        error: null,
      },
    };
    const p = (role: 'site_admin' | 'reception' | 'regional_it', site: string) =>
      liveFilterOf({ userId: 1, username: 'u', grants: [{ role, site }], authDisabled: false })(msg);
    expect([p('site_admin', 's1'), p('site_admin', 's2'), p('reception', 's1'), p('regional_it', 's1')]).toEqual([
      true,
      false,
      false,
      false,
    ]);
  });
});
