import { randomBytes } from 'node:crypto';
import { encryptTemplate } from '@portail/protocol';
import type { FaceAnalysis, FacePipeline } from '@portail/vision/face/face-pipeline.js';
import { createFacePipeline } from '@portail/vision/face/face-pipeline.js';
import type { FaceTemplate } from '@portail/vision/face/embed-template.js';
import type { EmbedderModelId } from '@portail/vision/face/embed.js';
import { serialiseTemplate, type TemplateEncoding } from '@portail/vision/face/template-codec.js';
import { createYunetDetector } from '@portail/vision/face/yunet-detector.js';
import { loadImageAsFrame } from '@portail/vision/image-frame.js';
import type { ExecutionProvider } from '@portail/vision/onnx-session.js';
import type { Detector, FaceDetection, Frame } from '@portail/vision/types.js';
import { VisionError } from '@portail/vision/vision-error.js';
import type { Database } from 'better-sqlite3';
import type { Logger } from 'pino';
import sharp from 'sharp';
import { ControlServerError } from '../infra/errors.js';
import { createConsentService, type MissingConsent } from './consent.js';
import { heicToPng, isHeic } from './heic.js';
import { issueStudentCredentialInTx, receiptForReplaced, signToken, type IssuedCredential } from './credentials.js';
import { ID_PHOTO_MAX_SIDE_PX, putIdPhotoRow, type IdPhotoKey } from './id-photos.js';
import { getPeopleSite } from './people-sites.js';
import { getStudent, insertTemplate } from './people-store.js';
import { fail, ok, type Result } from './result.js';
import { addDays, localDate } from './school-calendar.js';
import type { SigningKeyStore } from './signing-key-store.js';

/**
 * Enrolment: one photo of a consenting student → one template, encrypted under a fresh key that
 * only the new credential's token carries. The detector and the per-face pipeline are the edge's
 * own (`@portail/vision`), with liveness on, so a template compares with what the gate computes.
 * The photo bytes and every decoded pixel are zeroed before `enrol` returns and nothing is written
 * to disk, except, where the site opted in, a small encrypted ID photo for the reception screen.
 */

export interface PhotoLimits {
  maxBytes: number;
  minSidePx: number;
  maxSidePx: number;
  maxPixels: number;
}

export const DEFAULT_PHOTO_LIMITS: Readonly<PhotoLimits> = Object.freeze({
  maxBytes: 8 * 1024 * 1024,
  minSidePx: 160,
  maxSidePx: 8000,
  maxPixels: 40_000_000,
});

/**
 * Stricter than the gate's minimums (vision DEFAULT_QUALITY_OPTIONS): the template is made once and
 * compared for a year, so it should come from a large, sharp, frontal face. The pose angles are
 * landmark estimates (LFW press photos: median yaw 17°, 95th percentile 41°).
 */
export interface EnrolmentQuality {
  minFaceSizePx: number;
  minInterOcularPx: number;
  minSharpness: number;
  maxYawDeg: number;
  maxPitchDeg: number;
  maxRollDeg: number;
  /** another face at least this fraction of the main face's side makes the photo ambiguous */
  secondFaceRatio: number;
}

export const DEFAULT_ENROLMENT_QUALITY: Readonly<EnrolmentQuality> = Object.freeze({
  minFaceSizePx: 80,
  minInterOcularPx: 28,
  minSharpness: 40,
  maxYawDeg: 30,
  maxPitchDeg: 20,
  // alignment undoes roll: only a strong lean says the photo was taken carelessly
  maxRollDeg: 25,
  secondFaceRatio: 0.4,
});

export type EnrolmentErrorCode =
  | 'ENROL_ERR_STUDENT'
  | 'ENROL_ERR_CONSENT'
  | 'ENROL_ERR_PHOTO_TOO_LARGE'
  | 'ENROL_ERR_PHOTO_FORMAT'
  | 'ENROL_ERR_PHOTO_DIMENSIONS'
  | 'ENROL_ERR_CORRUPT_IMAGE'
  | 'ENROL_ERR_NO_FACE'
  | 'ENROL_ERR_SEVERAL_FACES'
  | 'ENROL_ERR_FACE_TOO_SMALL'
  | 'ENROL_ERR_BLURRED'
  | 'ENROL_ERR_POSE'
  | 'ENROL_ERR_SPOOF';

export type PhotoFormat = 'jpeg' | 'png' | 'heic';

/** Pure: the format from the magic bytes, and the byte-size limit. */
export function checkPhotoBytes(
  photo: Uint8Array,
  limits: PhotoLimits = DEFAULT_PHOTO_LIMITS,
): Result<PhotoFormat, 'ENROL_ERR_PHOTO_TOO_LARGE' | 'ENROL_ERR_PHOTO_FORMAT'> {
  if (photo.length > limits.maxBytes) {
    return fail('ENROL_ERR_PHOTO_TOO_LARGE', `photo of ${photo.length} bytes: at most ${limits.maxBytes} bytes`);
  }
  if (photo.length >= 3 && photo[0] === 0xff && photo[1] === 0xd8 && photo[2] === 0xff) return ok('jpeg');
  const png = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (photo.length >= 8 && png.every((b, i) => photo[i] === b)) return ok('png');
  if (isHeic(photo)) return ok('heic');
  return fail('ENROL_ERR_PHOTO_FORMAT', 'the photo must be a JPEG, PNG or HEIC file');
}

/** Pure: the largest face, and whether another face is large enough to make the photo ambiguous. */
export function pickEnrolmentFace(
  faces: readonly FaceDetection[],
  secondFaceRatio: number,
): { face: FaceDetection; others: number } | null {
  if (faces.length === 0) return null;
  const side = (f: FaceDetection) => Math.min(f.box.w, f.box.h);
  const sorted = [...faces].sort((a, b) => side(b) - side(a));
  const main = sorted[0]!;
  return { face: main, others: sorted.slice(1).filter((f) => side(f) >= secondFaceRatio * side(main)).length };
}

/**
 * Pure: the first reason why an analysed face cannot be enrolled. Size and sharpness come first
 * (liveness is unreliable on a small or blurred face), then liveness (a print or a screen is
 * reported as such even when it is also tilted), then pose.
 */
export function judgeEnrolmentFace(
  a: Pick<FaceAnalysis, 'quality' | 'liveness'>,
  q: EnrolmentQuality,
  requireLiveness: boolean,
): { code: EnrolmentErrorCode; message: string } | null {
  const r = a.quality;
  if (
    r.failures.includes('face-too-small') ||
    r.failures.includes('eyes-too-close') ||
    r.faceSizePx < q.minFaceSizePx ||
    r.interOcularPx < q.minInterOcularPx
  ) {
    return {
      code: 'ENROL_ERR_FACE_TOO_SMALL',
      message: `face too small: ${Math.round(r.faceSizePx)} px wide, ${Math.round(r.interOcularPx)} px between the eyes (at least ${q.minFaceSizePx} and ${q.minInterOcularPx}); take the photo closer`,
    };
  }
  if (r.failures.includes('blurred') || r.sharpness < q.minSharpness) {
    return {
      code: 'ENROL_ERR_BLURRED',
      message: `photo too blurred (sharpness ${Math.round(r.sharpness)}, at least ${q.minSharpness}); hold still, more light`,
    };
  }
  if (requireLiveness && !a.liveness?.live) {
    return {
      code: 'ENROL_ERR_SPOOF',
      message: `spoof suspected (liveness ${a.liveness ? a.liveness.realScore.toFixed(2) : 'not measured'}, threshold ${a.liveness?.threshold ?? '?'}): photograph the student in person, not a print or a screen`,
    };
  }
  const pose: string[] = [];
  if (Math.abs(r.yawDeg) > q.maxYawDeg) pose.push(`turned ${Math.round(Math.abs(r.yawDeg))}°`);
  if (Math.abs(r.pitchDeg) > q.maxPitchDeg) pose.push(`tilted up/down ${Math.round(Math.abs(r.pitchDeg))}°`);
  if (Math.abs(r.rollDeg) > q.maxRollDeg) pose.push(`head leaning ${Math.round(Math.abs(r.rollDeg))}°`);
  if (pose.length > 0 || r.failures.some((f) => f === 'yaw' || f === 'pitch' || f === 'roll')) {
    return {
      code: 'ENROL_ERR_POSE',
      message: `face not frontal (${pose.join(', ') || 'pose'}); look straight at the camera`,
    };
  }
  return null;
}

export interface EnrolmentVision {
  detector: Detector<FaceDetection>;
  pipeline: FacePipeline;
  close(): Promise<void>;
}

export interface EnrolmentVisionOptions {
  /** must be the agents' embedder (edge config `verification.embedder`) */
  embedder?: EmbedderModelId;
  modelsDir?: string;
  providers?: ExecutionProvider[];
  livenessThreshold?: number;
  logger?: Logger;
}

/** YuNet and the edge's face pipeline, liveness on. */
export async function openEnrolmentVision(opts: EnrolmentVisionOptions = {}): Promise<EnrolmentVision> {
  const common = {
    ...(opts.modelsDir !== undefined ? { modelsDir: opts.modelsDir } : {}),
    ...(opts.providers !== undefined ? { providers: opts.providers } : {}),
    ...(opts.logger !== undefined ? { logger: opts.logger } : {}),
  };
  const detector = await createYunetDetector(common);
  let pipeline: FacePipeline;
  try {
    pipeline = await createFacePipeline({
      ...common,
      liveness: true,
      ...(opts.embedder !== undefined ? { embedder: opts.embedder } : {}),
      ...(opts.livenessThreshold !== undefined ? { livenessThreshold: opts.livenessThreshold } : {}),
    });
  } catch (err) {
    await detector.close();
    throw err;
  }
  return {
    detector,
    pipeline,
    async close() {
      await Promise.all([detector.close(), pipeline.close()]);
    },
  };
}

export interface EnrolmentDeps {
  db: Database;
  keys: SigningKeyStore;
  vision: Pick<EnrolmentVision, 'detector' | 'pipeline'>;
  /** needed only where a site keeps ID photos */
  idPhotoKey?: IdPhotoKey;
  limits?: Partial<PhotoLimits>;
  quality?: Partial<EnrolmentQuality>;
  /** default 'f32' (what the agents' verification reads; 'i8' is 4× smaller) */
  encoding?: TemplateEncoding;
  /** default true; false only for tests of the other stages */
  requireLiveness?: boolean;
  now?: () => Date;
  logger?: Logger;
}

export interface EnrolmentResult {
  studentId: number;
  /** the new credential and its token (with the template key): print it now, then zero the token */
  credential: IssuedCredential;
  revoked: string[];
  model: { id: string; sha256: string };
  quality: { faceSizePx: number; interOcularPx: number; sharpness: number; yawDeg: number; score: number };
  liveness: number | null;
  idPhotoKept: boolean;
}

export interface EnrolInput {
  studentId: number;
  /** the photo file's bytes; zeroed by `enrol`, whatever the outcome */
  photo: Uint8Array;
  actor: string;
}

/** An RGB JPEG of the face's surroundings (1.8× the box), from the already decoded frame. */
async function idPhotoFromFrame(frame: Frame, face: FaceDetection): Promise<Buffer> {
  const side = Math.max(face.box.w, face.box.h) * 1.8;
  const cx = face.box.x + face.box.w / 2;
  const cy = face.box.y + face.box.h / 2;
  const x0 = Math.max(0, Math.round(cx - side / 2));
  const y0 = Math.max(0, Math.round(cy - side * 0.55));
  const x1 = Math.min(frame.width, Math.round(cx + side / 2));
  const y1 = Math.min(frame.height, Math.round(cy + side * 0.45));
  const w = x1 - x0;
  const h = y1 - y0;
  const rgb = Buffer.alloc(w * h * 3);
  try {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const s = ((y0 + y) * frame.width + x0 + x) * 3;
        const d = (y * w + x) * 3;
        rgb[d] = frame.data[s + 2]!;
        rgb[d + 1] = frame.data[s + 1]!;
        rgb[d + 2] = frame.data[s]!;
      }
    }
    return await sharp(rgb, { raw: { width: w, height: h, channels: 3 } })
      .resize(ID_PHOTO_MAX_SIDE_PX, ID_PHOTO_MAX_SIDE_PX, { fit: 'inside', withoutEnlargement: true })
      .jpeg({ quality: 85 })
      .toBuffer();
  } finally {
    rgb.fill(0);
  }
}

export function createEnrolmentService(deps: EnrolmentDeps) {
  const { db, keys, vision } = deps;
  const now = deps.now ?? (() => new Date());
  const limits: PhotoLimits = { ...DEFAULT_PHOTO_LIMITS, ...deps.limits };
  const quality: EnrolmentQuality = { ...DEFAULT_ENROLMENT_QUALITY, ...deps.quality };
  const encoding = deps.encoding ?? 'f32';
  const requireLiveness = deps.requireLiveness ?? true;
  if (requireLiveness && !vision.pipeline.liveness) {
    throw new ControlServerError('SERVER_ERR_ENROLMENT_LIVENESS', 'enrolment needs a face pipeline with liveness on');
  }
  const consent = createConsentService({ db, keys, now });
  const logger = deps.logger?.child({ module: 'enrolment' });

  const consentProblem = (studentId: number) => {
    const s = getStudent(db, studentId);
    if (!s) return fail('ENROL_ERR_STUDENT', `no student ${studentId}`);
    const e = consent.canEnrolBiometrics(studentId);
    if (e.ok) return null;
    if (e.reason === 'student-departed')
      return fail('ENROL_ERR_STUDENT', `student ${s.externalId} has left the school`);
    const list = (m: MissingConsent) => `${m.party} (${m.state === 'none' ? 'not asked' : m.state})`;
    return fail('ENROL_ERR_CONSENT', `enrolment needs the consent of: ${e.missing.map(list).join(', ')}`, {
      missing: e.missing,
    });
  };

  return {
    quality,
    limits,

    async enrol(input: EnrolInput): Promise<Result<EnrolmentResult, EnrolmentErrorCode>> {
      const { photo } = input;
      let frame: Frame | undefined;
      let template: FaceTemplate | null = null;
      let plain: Uint8Array | undefined;
      let key: Uint8Array | undefined;
      let idJpeg: Buffer | undefined;
      let heicPng: Buffer | undefined;
      try {
        // consent first: without it the photo is not even decoded
        const refused = consentProblem(input.studentId);
        if (refused) return refused;
        const format = checkPhotoBytes(photo, limits);
        if (!format.ok) return format;
        const sizeOk = (w: number, h: number) =>
          Math.min(w, h) >= limits.minSidePx && Math.max(w, h) <= limits.maxSidePx && w * h <= limits.maxPixels;
        const dimensionsError = (w: number, h: number) =>
          fail(
            'ENROL_ERR_PHOTO_DIMENSIONS',
            `photo of ${w}×${h} px: sides from ${limits.minSidePx} to ${limits.maxSidePx} px, at most ${limits.maxPixels / 1e6} megapixels`,
          );
        if (format.value === 'heic') {
          // libvips here has no HEVC decoder: decoded in memory to a PNG buffer, then the usual path
          const h = await heicToPng(photo, sizeOk);
          if (!h.ok) {
            return h.reason === 'dimensions'
              ? dimensionsError(h.width ?? 0, h.height ?? 0)
              : fail('ENROL_ERR_CORRUPT_IMAGE', `the HEIC photo cannot be read: ${h.message}`);
          }
          heicPng = h.png;
        }
        const buffer = heicPng ?? Buffer.from(photo.buffer, photo.byteOffset, photo.byteLength);
        let meta: sharp.Metadata;
        try {
          meta = await sharp(buffer).metadata();
        } catch (err) {
          return fail('ENROL_ERR_CORRUPT_IMAGE', `the photo cannot be read: ${(err as Error).message}`);
        }
        const w = meta.width ?? 0;
        const h = meta.height ?? 0;
        if (!sizeOk(w, h)) return dimensionsError(w, h);
        try {
          frame = await loadImageAsFrame(buffer, 'enrolment');
        } catch (err) {
          if (err instanceof VisionError && err.code === 'VISION_ERR_IMAGE_DECODE') {
            return fail(
              'ENROL_ERR_CORRUPT_IMAGE',
              `the photo is corrupt or truncated: ${err.message.replace(/^cannot decode image [^:]*: /, '')}`,
            );
          }
          throw err;
        }
        const picked = pickEnrolmentFace(await vision.detector.detect(frame), quality.secondFaceRatio);
        if (!picked) return fail('ENROL_ERR_NO_FACE', 'no face found in the photo');
        if (picked.others > 0) {
          return fail(
            'ENROL_ERR_SEVERAL_FACES',
            `${picked.others + 1} faces in the photo: exactly one person must be in it`,
          );
        }
        const analysis = await vision.pipeline.analyse(frame, picked.face);
        template = analysis.template;
        const problem = judgeEnrolmentFace(analysis, quality, requireLiveness);
        if (problem) {
          return fail(problem.code, problem.message, {
            quality: { ...analysis.quality },
            liveness: analysis.liveness?.realScore ?? null,
          });
        }
        if (!template)
          throw new ControlServerError(
            'SERVER_ERR_ENROLMENT',
            'the face pipeline returned no template for a good face',
          );
        plain = serialiseTemplate(template, encoding);
        const site = getPeopleSite(db, getStudent(db, input.studentId)!.site);
        if (site?.settings.keepIdPhotos && deps.idPhotoKey) idJpeg = await idPhotoFromFrame(frame, picked.face);

        key = new Uint8Array(randomBytes(32));
        const t = now();
        const tx = db.transaction(() => {
          // again inside the transaction: consent may have been withdrawn while the models ran
          const late = consentProblem(input.studentId);
          if (late) return late;
          const student = getStudent(db, input.studentId)!;
          const at = t.toISOString();
          const issued = issueStudentCredentialInTx(db, keys, student, {
            actor: input.actor,
            reason: 're-enrolled',
            biometric: true,
            now: t,
          });
          receiptForReplaced(db, student, issued, { reason: 're-enrolled', actor: input.actor, at });
          const enc = encryptTemplate(plain!, key!, {
            credentialId: issued.record.id,
            modelId: template!.modelId,
            modelSha256: template!.sha256,
            encoding,
          });
          insertTemplate(db, enc, student.site, at);
          if (idJpeg && deps.idPhotoKey) {
            const today = localDate(t, issued.site.settings.timeZone);
            putIdPhotoRow(db, deps.idPhotoKey, {
              studentId: student.id,
              site: student.site,
              jpeg: idJpeg,
              at,
              retainUntil: addDays(today, issued.site.settings.idPhotoRetentionDays),
            });
          }
          return ok(issued);
        });
        const issued = tx();
        if (!issued.ok) return issued;
        const signed = signToken(keys, issued.value.record, issued.value.site.siteCode, key);
        if (!signed.ok) throw new ControlServerError('SERVER_ERR_SIGNING_KEYS', signed.error.message);
        const q = analysis.quality;
        logger?.info(
          { studentId: input.studentId, credentialId: signed.value.credentialId, model: template.modelId },
          'student enrolled',
        );
        return ok({
          studentId: input.studentId,
          credential: signed.value,
          revoked: issued.value.revoked,
          model: { id: template.modelId, sha256: template.sha256 },
          quality: {
            faceSizePx: q.faceSizePx,
            interOcularPx: q.interOcularPx,
            sharpness: q.sharpness,
            yawDeg: q.yawDeg,
            score: q.score,
          },
          liveness: analysis.liveness?.realScore ?? null,
          idPhotoKept: idJpeg !== undefined,
        });
      } finally {
        photo.fill(0);
        heicPng?.fill(0);
        frame?.data.fill(0);
        template?.vector.fill(0);
        plain?.fill(0);
        key?.fill(0);
        idJpeg?.fill(0);
      }
    },
  };
}

export type EnrolmentService = ReturnType<typeof createEnrolmentService>;
