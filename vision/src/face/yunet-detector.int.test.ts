import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadImageAsFrame } from '../image-frame.js';
import type { Detector, FaceDetection, Frame } from '../types.js';
import { VisionError } from '../vision-error.js';
import { createYunetDetector } from './yunet-detector.js';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const DATA_DIR = process.env.PORTAIL_DATA_DIR ?? resolve(REPO_ROOT, '..', 'shared', 'data');
const lfw = (p: string) => resolve(DATA_DIR, 'faces-dev', 'images', p);

/** LFW deep-funneled 250×250 crops; Angela_Bassett_0003 and Antony_Leung_0002 also show a second face near the border. */
const LFW_IMAGES = [
  'Abel_Pacheco/Abel_Pacheco_0001.jpg',
  'Akhmed_Zakayev/Akhmed_Zakayev_0001.jpg',
  'Amber_Tamblyn/Amber_Tamblyn_0001.jpg',
  'Angela_Bassett/Angela_Bassett_0003.jpg',
  'Anthony_Fauci/Anthony_Fauci_0001.jpg',
  'Antony_Leung/Antony_Leung_0002.jpg',
];

function grayFrame(width: number, height: number, value = 128): Frame {
  return { cameraId: 'test', seq: 0, tsMs: 0, width, height, data: new Uint8Array(width * height * 3).fill(value) };
}

/** Paste a frame into a larger uniform gray canvas at (x0, y0). */
function pasteInto(canvas: Frame, src: Frame, x0: number, y0: number): Frame {
  for (let y = 0; y < src.height; y++) {
    const from = y * src.width * 3;
    canvas.data.set(src.data.subarray(from, from + src.width * 3), ((y0 + y) * canvas.width + x0) * 3);
  }
  return canvas;
}

const centre = (f: FaceDetection): [number, number] => [f.box.x + f.box.w / 2, f.box.y + f.box.h / 2];

describe('YuNet detector on real images', () => {
  let detector: Detector<FaceDetection>;
  beforeAll(async () => {
    detector = await createYunetDetector({ intraOpThreads: 1 });
  });
  afterAll(async () => {
    await detector.close();
  });

  it('reports its model, checksum and provider', () => {
    expect(detector.modelName).toBe('yunet-2023mar-dynamic');
    expect(detector.sha256).toBe('daede24002cc8590f457998cc5e6c9e8b82f45f6bd969506a8913cd4ed10a2d3');
    expect(detector.provider).toBe('cpu');
  });

  it.each(LFW_IMAGES)('%s: exactly one confident face near the centre, landmarks in order', async (path) => {
    const frame = await loadImageAsFrame(lfw(path));
    const faces = await detector.detect(frame);
    const central = faces.filter((f) => {
      const [cx, cy] = centre(f);
      return Math.hypot(cx - frame.width / 2, cy - frame.height / 2) < 40;
    });
    expect(central).toHaveLength(1);
    const face = central[0]!;
    expect(face).toBe(faces[0]); // the best face is the central one
    expect(face.score).toBeGreaterThan(0.9);
    expect(face.box.w).toBeGreaterThan(60);
    expect(face.box.w).toBeLessThan(160);

    const [rightEye, leftEye, nose, rightMouth, leftMouth] = face.landmarks;
    // the subject's right eye and mouth corner are on the image left
    expect(rightEye[0]).toBeLessThan(leftEye[0]);
    expect(rightMouth[0]).toBeLessThan(leftMouth[0]);
    // nose between the eyes and the mouth, vertically and horizontally
    const eyesY = (rightEye[1] + leftEye[1]) / 2;
    const mouthY = (rightMouth[1] + leftMouth[1]) / 2;
    expect(nose[1]).toBeGreaterThan(eyesY);
    expect(nose[1]).toBeLessThan(mouthY);
    expect(nose[0]).toBeGreaterThan(rightEye[0]);
    expect(nose[0]).toBeLessThan(leftEye[0]);
    for (const [x, y] of face.landmarks) {
      expect(x).toBeGreaterThan(face.box.x);
      expect(x).toBeLessThan(face.box.x + face.box.w);
      expect(y).toBeGreaterThan(face.box.y);
      expect(y).toBeLessThan(face.box.y + face.box.h);
    }
  });

  it('finds the one face of image_T1.jpg once its EXIF rotation is applied', async () => {
    const frame = await loadImageAsFrame(resolve(DATA_DIR, 'liveness-samples', 'image_T1.jpg'));
    expect([frame.width, frame.height]).toEqual([480, 640]);
    const faces = await detector.detect(frame);
    expect(faces).toHaveLength(1);
    expect(faces[0]!.score).toBeGreaterThan(0.8);
    expect(faces[0]!.landmarks[0][0]).toBeLessThan(faces[0]!.landmarks[1][0]);
  });

  it('finds nothing in a uniform gray frame', async () => {
    expect(await detector.detect(grayFrame(640, 480))).toEqual([]);
  });

  it('downscales a frame larger than maxInputSide and maps the face back to frame pixels', async () => {
    const small = await loadImageAsFrame(lfw(LFW_IMAGES[0]!));
    const [direct] = await detector.detect(small);
    // 1280×720 → 640×360 (padded to 640×384): the face is detected at half size
    const big = pasteInto(grayFrame(1280, 720), small, 700, 300);
    const faces = await detector.detect(big);
    expect(faces).toHaveLength(1);
    const [cx, cy] = centre(faces[0]!);
    const [dx, dy] = centre(direct!);
    expect(Math.abs(cx - (700 + dx))).toBeLessThan(6);
    expect(Math.abs(cy - (300 + dy))).toBeLessThan(6);
    expect(faces[0]!.box.w / direct!.box.w).toBeGreaterThan(0.85);
    expect(faces[0]!.box.w / direct!.box.w).toBeLessThan(1.15);
  });

  it('keeps concurrent calls apart: each gets the answer for its own frame', async () => {
    const face = await loadImageAsFrame(lfw(LFW_IMAGES[1]!));
    const [a, b, c] = await Promise.all([
      detector.detect(face),
      detector.detect(grayFrame(250, 250)),
      detector.detect(face),
    ]);
    expect(a).toHaveLength(1);
    expect(b).toEqual([]);
    expect(c).toEqual(a);
  });

  it('counts frames and detections and times both stages', async () => {
    const before = detector.stats();
    const frame = await loadImageAsFrame(lfw(LFW_IMAGES[2]!));
    const faces = await detector.detect(frame);
    await detector.detect(grayFrame(320, 240));
    const after = detector.stats();
    expect(after.framesRun).toBe(before.framesRun + 2);
    expect(after.detections).toBe(before.detections + faces.length);
    expect(after.lastInferenceMs).toBeGreaterThan(0);
    expect(after.lastPreprocessMs).toBeGreaterThan(0);
  });

  it('rejects a frame whose buffer does not match its size', async () => {
    const bad: Frame = { ...grayFrame(64, 64), width: 65 };
    await expect(detector.detect(bad)).rejects.toMatchObject({ code: 'VISION_ERR_BAD_FRAME' });
  });
});

describe('createYunetDetector failures', () => {
  it('propagates the resolver error naming the missing model file', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'portail-no-models-'));
    try {
      const err = await createYunetDetector({ modelsDir: empty }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'MODEL_ERR_NOT_FOUND' });
      expect((err as Error).message).toContain('face_detection_yunet_2023mar_dynamic.onnx');
      expect((err as Error).message).toContain(empty);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it('refuses to detect after close', async () => {
    const d = await createYunetDetector();
    await d.close();
    const err = await d.detect(grayFrame(32, 32)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VisionError);
    expect((err as VisionError).code).toBe('VISION_ERR_CLOSED');
  });
});
