import { readdirSync, readFileSync } from 'node:fs';
import { decodeCredentialToken, withDecryptedTemplate } from '@portail/protocol';
import { compareTemplates } from '@portail/vision/face/embed-template.js';
import { parseTemplate } from '@portail/vision/face/template-codec.js';
import { loadImageAsFrame } from '@portail/vision/image-frame.js';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConsentService } from './consent.js';
import {
  createEnrolmentService,
  openEnrolmentVision,
  type EnrolmentService,
  type EnrolmentVision,
} from './enrolment.js';
import { openIdPhotoKey, readIdPhoto } from './id-photos.js';
import { updatePeopleSiteSettings } from './people-sites.js';
import { findStudent, getTemplate, type Student } from './people-store.js';
import { importRegistry } from './registry-import.js';
import {
  facePhoto,
  generateStudents,
  livenessPhoto,
  openPeopleTestEnv,
  registryCsv,
  type PeopleTestEnv,
} from './testing.js';
import { createWithdrawalService } from './withdrawal.js';

// two photos of one person (enrol with one, compare with the other), and a different person
const BRIAN = ['Brian_Griese/Brian_Griese_0001.jpg', 'Brian_Griese/Brian_Griese_0002.jpg'] as const;
const DEAN = 'Dean_Barker/Dean_Barker_0001.jpg';
// LFW photo with a second, comparable face in it (YuNet: 90 px and 75 px)
const TWO_FACES = 'Andrew_Shutley/Andrew_Shutley_0001.jpg';
const SIMILARITY_THRESHOLD = 0.3; // edge default for the default embedder (edge-agent config)

describe('enrolment with the edge pipeline (real YuNet, embedder, liveness; real photos read in place)', () => {
  let env: PeopleTestEnv;
  let vision: EnrolmentVision;
  let service: EnrolmentService;
  let students: Student[];
  const dataDirBefore = new Set<string>();

  beforeAll(async () => {
    env = openPeopleTestEnv();
    const list = generateStudents(4, 31).map((s) => ({ ...s, birthDate: '01/02/2005' })); // adults: own consent only
    importRegistry(env.db, { site: 'lycee-a', bytes: new TextEncoder().encode(registryCsv(list)), actor: 'test' });
    students = list.map((s) => findStudent(env.db, 'lycee-a', s.externalId)!);
    const consent = createConsentService({ db: env.db, keys: env.keys });
    for (const s of students.slice(0, 3)) {
      consent.record({
        studentId: s.id,
        party: 'student',
        action: 'grant',
        channel: 'in_person',
        noticeVersion: 'v1',
        actor: 'test',
      });
    }
    vision = await openEnrolmentVision();
    service = createEnrolmentService({ db: env.db, keys: env.keys, vision, idPhotoKey: openIdPhotoKey(env.dataDir) });
    for (const f of readdirSync(env.dataDir, { recursive: true })) dataDirBefore.add(String(f));
  }, 120_000);
  afterAll(async () => {
    await vision?.close();
    env?.close();
  });

  const photo = (p: string) => new Uint8Array(readFileSync(p));
  const enrol = (s: Student, bytes: Uint8Array) => service.enrol({ studentId: s.id, photo: bytes, actor: 'test' });

  it('enrols a consenting student: one template under a fresh key only the new token carries', async () => {
    const bytes = photo(facePhoto(BRIAN[0]));
    const r = await enrol(students[0]!, bytes);
    expect(r.ok, JSON.stringify(!r.ok && r.error)).toBe(true);
    if (!r.ok) return;
    // the photo bytes are zeroed, the token carries the key, the server keeps only the ciphertext
    expect(bytes.every((b) => b === 0)).toBe(true);
    expect(r.value.credential).toMatchObject({ biometric: true, siteCode: 1 });
    expect(r.value.model.id).toBe(vision.pipeline.embedder.modelId);
    expect(r.value.liveness).toBeGreaterThan(0.5);
    const claims = decodeCredentialToken(r.value.credential.token, env.keys.publicKeys());
    expect(claims.ok && claims.value.templateKey).toHaveLength(32);
    if (!claims.ok) return;
    const stored = getTemplate(env.db, r.value.credential.credentialId)!;
    expect(stored).toMatchObject({
      modelId: vision.pipeline.embedder.modelId,
      modelSha256: vision.pipeline.embedder.sha256,
      encoding: 'f32',
    });
    expect(stored.ciphertext).toHaveLength(4 * vision.pipeline.embedder.dim);

    // what the gate does: the same pipeline on another photo of the person, and of someone else
    const score = async (p: string) => {
      const frame = await loadImageAsFrame(facePhoto(p));
      const [face] = await vision.detector.detect(frame);
      const probe = (await vision.pipeline.analyse(frame, face!)).template!;
      return withDecryptedTemplate(stored, claims.value.templateKey!, (plain) => {
        const enrolled = parseTemplate(plain, stored.encoding, { modelId: stored.modelId, sha256: stored.modelSha256 });
        const c = compareTemplates(enrolled, probe);
        enrolled.vector.fill(0);
        return c.ok ? c.value : NaN;
      });
    };
    expect(await score(BRIAN[1])).toBeGreaterThan(SIMILARITY_THRESHOLD);
    expect(await score(DEAN)).toBeLessThan(SIMILARITY_THRESHOLD);
    r.value.credential.token.fill(0);
  });

  it('re-enrolment replaces the credential and deletes the old ciphertext, with a receipt', async () => {
    const first = createWithdrawalService({ db: env.db, keys: env.keys }).getSyncSet('lycee-a');
    const before = first.ok ? first.value.templates.map((t) => t.credentialId) : [];
    expect(before).toHaveLength(1);
    const r = await enrol(students[0]!, photo(facePhoto(BRIAN[1])));
    expect(r.ok && r.value.revoked).toEqual(before);
    expect(getTemplate(env.db, before[0]!)).toBeUndefined();
    const receipts = createWithdrawalService({ db: env.db, keys: env.keys }).receipts('lycee-a');
    expect(receipts.at(-1)).toMatchObject({ reason: 're-enrolled', what: { templates: before } });
  });

  it('accepts the live capture and refuses the printed photo and the screen replay as spoofs', async () => {
    expect(await enrol(students[1]!, photo(livenessPhoto('image_T1.jpg')))).toMatchObject({ ok: true });
    for (const f of ['image_F1.jpg', 'image_F2.jpg']) {
      const r = await enrol(students[2]!, photo(livenessPhoto(f)));
      expect(r, f).toMatchObject({
        ok: false,
        error: { code: 'ENROL_ERR_SPOOF', message: expect.stringContaining('spoof suspected') },
      });
    }
  });

  it('refuses, with a clear reason: no consent, no face, two faces, too small, blurred, corrupt, too large, wrong format', async () => {
    const brian = readFileSync(facePhoto(BRIAN[0]));
    const noConsent = photo(facePhoto(BRIAN[0]));
    expect(await enrol(students[3]!, noConsent)).toMatchObject({
      ok: false,
      error: { code: 'ENROL_ERR_CONSENT', details: { missing: [{ party: 'student', state: 'none' }] } },
    });
    expect(noConsent.every((b) => b === 0)).toBe(true);

    const s = students[2]!;
    const grey = await sharp({ create: { width: 400, height: 300, channels: 3, background: '#8a8a8a' } })
      .png()
      .toBuffer();
    expect(await enrol(s, new Uint8Array(grey))).toMatchObject({ ok: false, error: { code: 'ENROL_ERR_NO_FACE' } });
    expect(await enrol(s, photo(facePhoto(TWO_FACES)))).toMatchObject({
      ok: false,
      error: { code: 'ENROL_ERR_SEVERAL_FACES' },
    });
    // the same photo framed wider: the face is ~50 px across
    const far = await sharp(brian)
      .resize(125, 125)
      .extend({ top: 60, bottom: 60, left: 60, right: 60, background: '#777' })
      .jpeg()
      .toBuffer();
    expect(await enrol(s, new Uint8Array(far))).toMatchObject({
      ok: false,
      error: { code: 'ENROL_ERR_FACE_TOO_SMALL', message: expect.stringMatching(/take the photo closer/) },
    });
    // landmark yaw estimate −34° (enrolment allows 30°, the gate 45°)
    expect(await enrol(s, photo(facePhoto('Abel_Pacheco/Abel_Pacheco_0001.jpg')))).toMatchObject({
      ok: false,
      error: { code: 'ENROL_ERR_POSE', message: expect.stringMatching(/turned 34°/) },
    });
    const blurred = await sharp(brian).blur(3).jpeg().toBuffer();
    expect(await enrol(s, new Uint8Array(blurred))).toMatchObject({
      ok: false,
      error: { code: 'ENROL_ERR_BLURRED', details: { quality: {} } },
    });
    expect(await enrol(s, new Uint8Array(brian.subarray(0, 2000)))).toMatchObject({
      ok: false,
      error: { code: 'ENROL_ERR_CORRUPT_IMAGE' },
    });
    expect(await enrol(s, new Uint8Array(8 * 1024 * 1024 + 1))).toMatchObject({
      ok: false,
      error: { code: 'ENROL_ERR_PHOTO_TOO_LARGE' },
    });
    expect(await enrol(s, new TextEncoder().encode('GIF89a not a photo'))).toMatchObject({
      ok: false,
      error: { code: 'ENROL_ERR_PHOTO_FORMAT' },
    });
    const tiny = await sharp({ create: { width: 100, height: 100, channels: 3, background: '#fff' } })
      .png()
      .toBuffer();
    expect(await enrol(s, new Uint8Array(tiny))).toMatchObject({
      ok: false,
      error: { code: 'ENROL_ERR_PHOTO_DIMENSIONS' },
    });
    // nothing was written for the refused student
    expect(env.db.prepare('SELECT count(*) AS n FROM credentials WHERE student_id = ?').get(s.id)).toEqual({ n: 0 });
  });

  it('keeps an encrypted ID photo only where the site opted in, and the withdrawal deletes it', async () => {
    const s = students[1]!;
    expect(readIdPhoto(env.db, openIdPhotoKey(env.dataDir), s.id)).toBeUndefined();
    updatePeopleSiteSettings(env.db, 'lycee-a', { keepIdPhotos: true });
    const r = await enrol(s, photo(livenessPhoto('image_T1.jpg')));
    expect(r).toMatchObject({ ok: true, value: { idPhotoKept: true } });
    const kept = readIdPhoto(env.db, openIdPhotoKey(env.dataDir), s.id)!;
    const meta = await sharp(kept).metadata();
    expect(meta.format).toBe('jpeg');
    expect(Math.max(meta.width, meta.height)).toBeLessThanOrEqual(480);
    expect(meta.exif).toBeUndefined();
    kept.fill(0);
    // the stored row is ciphertext: no JPEG marker in it
    const row = env.db.prepare('SELECT ciphertext FROM id_photos WHERE student_id = ?').get(s.id) as {
      ciphertext: Buffer;
    };
    expect(row.ciphertext.subarray(0, 3).equals(Buffer.from([0xff, 0xd8, 0xff]))).toBe(false);
    const w = createWithdrawalService({ db: env.db, keys: env.keys }).withdrawBiometrics(s.id, { actor: 'test' });
    expect(w).toMatchObject({ ok: true, value: { idPhotoDeleted: true, templatesDeleted: [expect.any(String)] } });
    expect(readIdPhoto(env.db, openIdPhotoKey(env.dataDir), s.id)).toBeUndefined();
    updatePeopleSiteSettings(env.db, 'lycee-a', { keepIdPhotos: false });
  });

  it('writes no image to the data dir: only the database and keys are there', () => {
    const after = readdirSync(env.dataDir, { recursive: true }).map(String);
    const added = after.filter((f) => !dataDirBefore.has(f));
    expect(added.every((f) => /^portail\.sqlite(-wal|-shm)?$/.test(f))).toBe(true);
    expect(after.some((f) => /\.(jpe?g|png)$/i.test(f))).toBe(false);
  });
});
