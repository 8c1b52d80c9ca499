import type { Detector, FaceDetection, Frame, PersonDetection } from '@portail/vision/types.js';
import type { Logger } from 'pino';
import sharp from 'sharp';
import { fail, ok, type Result } from '../people/result.js';
import type { CameraRef } from './camera-secret.js';
import type { CameraRegistry } from './camera-registry.js';
import { grabFrames, type GrabErrorCode } from './frame-grab.js';
import { pixelateFacesAndHeads } from './pixelate.js';
import { createLimiter, createSerialQueue, lazy } from './serial-queue.js';

/**
 * A privacy-safe still of a camera, for the zone editor and the supervisors' camera tiles: one
 * frame grabbed by the server (camera-url source, ffmpeg, in memory), every face pixelated
 * (YuNet at a low threshold, generous masks) and the head of every detected person too, then
 * JPEG-encoded. The pixels are zeroed once encoded; nothing touches the disk.
 */

export type SnapshotErrorCode = 'CAMERA_ERR_UNKNOWN' | 'CAMERA_ERR_NO_URL' | 'CAMERA_ERR_VISION' | GrabErrorCode;

export interface Snapshot {
  jpeg: Buffer;
  width: number;
  height: number;
  /** faces and person heads pixelated */
  faces: number;
  persons: number;
}

export interface SnapshotDeps {
  registry: CameraRegistry;
  ffmpegPath: string;
  grabTimeoutMs: number;
  /** the snapshot's face detector (a low threshold: better one block too many than a face left) */
  openFaceDetector: () => Promise<Detector<FaceDetection>>;
  /** optional: heads of detected persons are pixelated too */
  openPersonDetector?: () => Promise<Detector<PersonDetection>>;
  logger?: Logger;
  random?: () => number;
  /** ffmpeg grabs running at once (default 2: the server has two cores for everything) */
  maxConcurrentGrabs?: number;
}

/** Face detector score threshold for masking: below the gate's 0.6, masking errs on the safe side. */
export const SNAPSHOT_FACE_THRESHOLD = 0.45;

export function createSnapshotService(deps: SnapshotDeps) {
  const faces = lazy(deps.openFaceDetector);
  const personsOpen = deps.openPersonDetector;
  const persons = personsOpen
    ? lazy(async () => {
        try {
          return await personsOpen();
        } catch (err) {
          // faces are still pixelated: the person pass only adds margin
          deps.logger?.warn({ err }, 'person detector unavailable: snapshots pixelate detected faces only');
          return null;
        }
      })
    : null;
  const serial = createSerialQueue();
  const limit = createLimiter(deps.maxConcurrentGrabs ?? 2);
  // requests for the same camera while a snapshot is being made share it (a console opening many tiles)
  const inflight = new Map<string, Promise<Result<Snapshot, SnapshotErrorCode>>>();

  /** Pixelate faces and heads of `frame` in place; counts of what was masked. */
  const mask = (frame: Frame) =>
    serial(async () => {
      const f = await (await faces.get()).detect(frame);
      const personDetector = persons ? await persons.get() : null;
      const p = personDetector ? await personDetector.detect(frame) : [];
      pixelateFacesAndHeads(
        frame,
        f.map((d) => d.box),
        p.map((d) => d.box),
      );
      return { faces: f.length, persons: p.length };
    });

  async function snapshotOnce(ref: CameraRef): Promise<Result<Snapshot, SnapshotErrorCode>> {
    const src = deps.registry.sourceOf(ref);
    if (!src)
      return fail('CAMERA_ERR_UNKNOWN', `camera ${ref.agent}/${ref.camera} is not registered at site ${ref.site}`);
    if (!src.source) {
      return fail(
        'CAMERA_ERR_NO_URL',
        src.url === null
          ? `camera ${ref.agent}/${ref.camera} has no source URL: set one (PUT …/cameras/${ref.camera} with rtspUrl)`
          : `the source of camera ${ref.agent}/${ref.camera} is a file, refused on this server (cameras.allowFileUrls)`,
      );
    }
    const grabbed = await grabFrames(src.source, src.url, ref.camera, {
      ffmpegPath: deps.ffmpegPath,
      timeoutMs: deps.grabTimeoutMs,
      count: 1,
      ...(deps.random ? { random: deps.random } : {}),
    });
    if (!grabbed.ok) return grabbed;
    const frame = grabbed.value[0]!;
    try {
      let counts: { faces: number; persons: number };
      try {
        counts = await mask(frame);
      } catch (err) {
        // without the detector no snapshot may leave: an unmasked image is never the fallback
        deps.logger?.error({ err }, 'snapshot face detection failed');
        return fail('CAMERA_ERR_VISION', 'faces could not be detected, so no snapshot is given: see the server log');
      }
      // BGR → RGB for the encoder, in place (the frame is discarded afterwards)
      const d = frame.data;
      for (let i = 0; i < d.length; i += 3) {
        const b = d[i]!;
        d[i] = d[i + 2]!;
        d[i + 2] = b;
      }
      const jpeg = await sharp(d, { raw: { width: frame.width, height: frame.height, channels: 3 } })
        .jpeg({ quality: 80 })
        .toBuffer();
      return ok({ jpeg, width: frame.width, height: frame.height, ...counts });
    } finally {
      frame.data.fill(0);
    }
  }

  return {
    mask,
    /** faces of a frame with the snapshot's detector (enrolment capture picks its frames with it) */
    detectFaces: (frame: Frame) => serial(async () => (await faces.get()).detect(frame)),
    snapshot(ref: CameraRef): Promise<Result<Snapshot, SnapshotErrorCode>> {
      const key = `${ref.site}/${ref.agent}/${ref.camera}`;
      const running = inflight.get(key);
      if (running) return running;
      const p = limit(() => snapshotOnce(ref)).finally(() => inflight.delete(key));
      inflight.set(key, p);
      return p;
    },
    async close(): Promise<void> {
      const f = faces.peek();
      const p = persons?.peek();
      await Promise.allSettled([f?.then((d) => d.close()), p?.then((d) => d?.close())]);
    },
  };
}

export type SnapshotService = ReturnType<typeof createSnapshotService>;
