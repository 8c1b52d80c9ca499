import { createYunetDetector } from '@portail/vision/face/yunet-detector.js';
import { createYoloxDetector } from '@portail/vision/person/yolox-detector.js';
import type { Database } from 'better-sqlite3';
import type { Logger } from 'pino';
import type { SigningKeyStore } from '../people/signing-key-store.js';
import { openCameraSecretKey } from './camera-secret.js';
import { createCameraRegistry, type CameraRegistry } from './camera-registry.js';
import { createEnrolmentCapture, type EnrolmentCapture } from './enrolment-capture.js';
import { createPreviewRelay, type PreviewRelay } from './preview-relay.js';
import { createSnapshotService, SNAPSHOT_FACE_THRESHOLD, type SnapshotService } from './snapshot-service.js';

/** The server's camera side, one object for the HTTP layer (deps.cameras). */
export interface CameraServices {
  registry: CameraRegistry;
  snapshots: SnapshotService;
  capture: EnrolmentCapture;
  preview: PreviewRelay;
  /** a viewing of the live preview ends after this long (the viewer may start another, audited again) */
  previewMaxMs: number;
  close(): Promise<void>;
}

export interface CameraSettings {
  ffmpegPath: string;
  grabTimeoutMs: number;
  allowFileUrls: boolean;
  previewMaxMs: number;
  previewFps: number;
}

export const DEFAULT_CAMERA_SETTINGS: Readonly<CameraSettings> = Object.freeze({
  ffmpegPath: 'ffmpeg',
  grabTimeoutMs: 10_000,
  allowFileUrls: false,
  previewMaxMs: 5 * 60_000,
  previewFps: 5,
});

export interface CameraServicesDeps {
  db: Database;
  dataDir: string;
  keys: SigningKeyStore;
  settings?: Partial<CameraSettings>;
  /** models folder for the snapshot and capture detectors (default: the resolver's) */
  modelsDir?: string;
  logger?: Logger;
}

/** Constructs everything; models are loaded on first use (a server that never snapshots never loads them). */
export function createCameraServices(deps: CameraServicesDeps): CameraServices {
  const s: CameraSettings = { ...DEFAULT_CAMERA_SETTINGS, ...deps.settings };
  const logger = deps.logger;
  const models = deps.modelsDir !== undefined ? { modelsDir: deps.modelsDir } : {};
  const registry = createCameraRegistry(deps.db, openCameraSecretKey(deps.dataDir), { allowFileUrls: s.allowFileUrls });
  const snapshots = createSnapshotService({
    registry,
    ffmpegPath: s.ffmpegPath,
    grabTimeoutMs: s.grabTimeoutMs,
    openFaceDetector: () =>
      createYunetDetector({ ...models, scoreThreshold: SNAPSHOT_FACE_THRESHOLD, ...(logger ? { logger } : {}) }),
    openPersonDetector: () => createYoloxDetector({ ...models, ...(logger ? { logger } : {}) }),
    ...(logger ? { logger: logger.child({ module: 'snapshot' }) } : {}),
  });
  const capture = createEnrolmentCapture({
    db: deps.db,
    keys: deps.keys,
    registry,
    ffmpegPath: s.ffmpegPath,
    grabTimeoutMs: s.grabTimeoutMs,
    detectFaces: (frame) => snapshots.detectFaces(frame),
  });
  const preview = createPreviewRelay({
    ffmpegPath: s.ffmpegPath,
    fps: s.previewFps,
    ...(logger ? { logger: logger.child({ module: 'preview' }) } : {}),
  });
  return {
    registry,
    snapshots,
    capture,
    preview,
    previewMaxMs: s.previewMaxMs,
    async close() {
      await Promise.all([preview.close(), snapshots.close()]);
    },
  };
}
