import type { Database } from 'better-sqlite3';
import type { FaceDetection, Frame } from '@portail/vision/types.js';
import sharp from 'sharp';
import { createConsentService } from '../people/consent.js';
import { DEFAULT_ENROLMENT_QUALITY, pickEnrolmentFace, type EnrolmentErrorCode } from '../people/enrolment.js';
import { getStudent } from '../people/people-store.js';
import { fail, ok, type PeopleError, type Result } from '../people/result.js';
import type { SigningKeyStore } from '../people/signing-key-store.js';
import type { CameraRef } from './camera-secret.js';
import type { CameraRegistry } from './camera-registry.js';
import { grabFrames, type GrabErrorCode } from './frame-grab.js';
import { createSerialQueue } from './serial-queue.js';

/**
 * Enrolment from a gate camera, on request: the student stands in front of the camera, the server
 * grabs a couple of seconds of frames (in memory), keeps those with exactly one face, and hands the
 * largest, as a lossless PNG in memory, to the same enrolment call a photo upload goes through
 * (`PeopleApi.enrol` → `createEnrolmentService().enrol`: same consent check, detector, quality and
 * liveness rules, template and credential). When that frame fails a per-frame rule (blur, pose,
 * liveness…), the next largest is tried. Consent is checked before any frame is grabbed: nobody's
 * face is captured for an enrolment that would be refused.
 */

export type CaptureErrorCode =
  EnrolmentErrorCode | GrabErrorCode | 'CAMERA_ERR_UNKNOWN' | 'CAMERA_ERR_NO_URL' | 'CAMERA_ERR_VISION';

/** The enrolment of an uploaded photo (bytes zeroed by it, whatever the outcome). */
export type EnrolPhoto<T> = (
  site: string,
  studentId: number,
  photo: Uint8Array,
  actor: string,
) => Promise<Result<T, EnrolmentErrorCode>>;

export interface CaptureDeps {
  db: Database;
  keys: SigningKeyStore;
  registry: CameraRegistry;
  ffmpegPath: string;
  grabTimeoutMs: number;
  /** faces of a frame (the snapshot's detector, shared) */
  detectFaces: (frame: Frame) => Promise<FaceDetection[]>;
  /** frames sampled (default 8 at 4 fps: two seconds in front of the camera) */
  frames?: number;
  sampleFps?: number;
  /** frames tried with the enrolment before giving up (default 3, largest faces first) */
  maxAttempts?: number;
  now?: () => Date;
}

export interface CaptureInput {
  site: string;
  studentId: number;
  camera: Omit<CameraRef, 'site'>;
  actor: string;
}

export interface CaptureResult<T> {
  enrolment: T;
  framesGrabbed: number;
  framesWithOneFace: number;
  attempts: number;
}

/** Reasons that belong to one frame: another frame of the same capture may pass. */
const PER_FRAME: ReadonlySet<EnrolmentErrorCode> = new Set<EnrolmentErrorCode>([
  'ENROL_ERR_NO_FACE',
  'ENROL_ERR_SEVERAL_FACES',
  'ENROL_ERR_FACE_TOO_SMALL',
  'ENROL_ERR_BLURRED',
  'ENROL_ERR_POSE',
  'ENROL_ERR_SPOOF',
]);

/** Pure: candidate frames with exactly one face, largest (× detector score) first. */
export function rankCaptureFrames(
  detections: ReadonlyArray<{ index: number; faces: readonly FaceDetection[] }>,
  secondFaceRatio = DEFAULT_ENROLMENT_QUALITY.secondFaceRatio,
): { ranked: number[]; several: number } {
  const single: Array<{ index: number; weight: number }> = [];
  let several = 0;
  for (const d of detections) {
    const picked = pickEnrolmentFace(d.faces, secondFaceRatio);
    if (!picked) continue;
    if (picked.others > 0) several++;
    else single.push({ index: d.index, weight: Math.min(picked.face.box.w, picked.face.box.h) * picked.face.score });
  }
  single.sort((a, b) => b.weight - a.weight || a.index - b.index);
  return { ranked: single.map((s) => s.index), several };
}

async function pngOf(frame: Frame): Promise<Buffer> {
  const rgb = Buffer.allocUnsafe(frame.data.length);
  const d = frame.data;
  for (let i = 0; i < d.length; i += 3) {
    rgb[i] = d[i + 2]!;
    rgb[i + 1] = d[i + 1]!;
    rgb[i + 2] = d[i]!;
  }
  try {
    return await sharp(rgb, { raw: { width: frame.width, height: frame.height, channels: 3 } })
      .png({ compressionLevel: 1 })
      .toBuffer();
  } finally {
    rgb.fill(0);
  }
}

export function createEnrolmentCapture(deps: CaptureDeps) {
  const now = deps.now ?? (() => new Date());
  const consent = createConsentService({ db: deps.db, keys: deps.keys, now });
  const serial = createSerialQueue();

  async function captureOnce<T>(
    input: CaptureInput,
    enrol: EnrolPhoto<T>,
  ): Promise<Result<CaptureResult<T>, CaptureErrorCode>> {
    const student = getStudent(deps.db, input.studentId);
    if (!student || student.site !== input.site) {
      return fail('ENROL_ERR_STUDENT', `no student ${input.studentId} at site ${input.site}`);
    }
    const eligible = consent.canEnrolBiometrics(input.studentId);
    if (!eligible.ok) {
      if (eligible.reason === 'student-departed') {
        return fail('ENROL_ERR_STUDENT', `student ${student.externalId} has left the school`);
      }
      const list = eligible.missing.map((m) => `${m.party} (${m.state === 'none' ? 'not asked' : m.state})`);
      return fail('ENROL_ERR_CONSENT', `enrolment needs the consent of: ${list.join(', ')}`, {
        missing: eligible.missing,
      });
    }
    const ref: CameraRef = { site: input.site, ...input.camera };
    const src = deps.registry.sourceOf(ref);
    if (!src)
      return fail('CAMERA_ERR_UNKNOWN', `camera ${ref.agent}/${ref.camera} is not registered at site ${ref.site}`);
    if (!src.source) return fail('CAMERA_ERR_NO_URL', `camera ${ref.agent}/${ref.camera} has no usable source URL`);

    const grabbed = await grabFrames(src.source, src.url, ref.camera, {
      ffmpegPath: deps.ffmpegPath,
      timeoutMs: deps.grabTimeoutMs,
      count: deps.frames ?? 8,
      sampleFps: deps.sampleFps ?? 4,
    });
    if (!grabbed.ok) return grabbed;
    const frames = grabbed.value;
    try {
      const detections: Array<{ index: number; faces: FaceDetection[] }> = [];
      try {
        for (const [index, frame] of frames.entries()) detections.push({ index, faces: await deps.detectFaces(frame) });
      } catch (err) {
        return fail('CAMERA_ERR_VISION', `face detection failed: ${(err as Error).message}`);
      }
      const { ranked, several } = rankCaptureFrames(detections);
      if (ranked.length === 0) {
        return several > 0
          ? fail('ENROL_ERR_SEVERAL_FACES', 'several people in front of the camera: only the student may be in view')
          : fail(
              'ENROL_ERR_NO_FACE',
              `no face in ${frames.length} frames from the camera: the student should face it, closer`,
            );
      }
      let first: PeopleError<EnrolmentErrorCode> | null = null;
      let attempts = 0;
      for (const index of ranked.slice(0, deps.maxAttempts ?? 3)) {
        attempts++;
        const png = await pngOf(frames[index]!);
        // enrol() zeroes the bytes it is given, whatever the outcome
        const r = await enrol(
          input.site,
          input.studentId,
          new Uint8Array(png.buffer, png.byteOffset, png.byteLength),
          input.actor,
        );
        png.fill(0);
        if (r.ok)
          return ok({ enrolment: r.value, framesGrabbed: frames.length, framesWithOneFace: ranked.length, attempts });
        if (!PER_FRAME.has(r.error.code)) return r;
        first ??= r.error;
      }
      return {
        ok: false,
        error: { ...first!, details: { ...first!.details, attempts, framesGrabbed: frames.length } },
      };
    } finally {
      for (const f of frames) f.data.fill(0);
    }
  }

  return {
    /** one capture at a time: it occupies the camera's ffmpeg and the models for a few seconds */
    capture: <T>(input: CaptureInput, enrol: EnrolPhoto<T>) => serial(() => captureOnce(input, enrol)),
  };
}

export type EnrolmentCapture = ReturnType<typeof createEnrolmentCapture>;
