import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadImageAsFrame } from '../image-frame.js';
import type { Detector, FaceDetection } from '../types.js';
import { createLivenessChecker, DEFAULT_LIVENESS_THRESHOLD, type LivenessChecker } from './liveness.js';
import { createYunetDetector } from './yunet-detector.js';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const DATA_DIR = process.env.PORTAIL_DATA_DIR ?? resolve(REPO_ROOT, '..', 'shared', 'data');
const sample = (name: string) => resolve(DATA_DIR, 'liveness-samples', name);

describe('MiniFASNet V2 + V1SE liveness on the smoke images (real models)', () => {
  let detector: Detector<FaceDetection>;
  let liveness: LivenessChecker;

  beforeAll(async () => {
    detector = await createYunetDetector();
    liveness = await createLivenessChecker();
  });
  afterAll(async () => {
    await detector?.close();
    await liveness?.close();
  });

  async function scoreOf(file: string) {
    const frame = await loadImageAsFrame(sample(file));
    // the EXIF rotation is what makes these portrait 480×640 frames (README)
    expect([frame.width, frame.height]).toEqual([480, 640]);
    const faces = await detector.detect(frame);
    expect(faces.length).toBeGreaterThanOrEqual(1);
    return liveness.check(frame, faces[0]!.box);
  }

  it(`passes the live capture T1 at the default threshold ${DEFAULT_LIVENESS_THRESHOLD}`, async () => {
    const r = await scoreOf('image_T1.jpg');
    expect(r.threshold).toBe(DEFAULT_LIVENESS_THRESHOLD);
    expect(r.live).toBe(true);
    expect(r.realScore).toBeGreaterThan(0.95);
    expect(r.label).toBe(1);
    expect(r.perModel.map((m) => m.model)).toEqual(['minifasnet-v2-2.7', 'minifasnet-v1se-4.0']);
  });

  it('flags the printed photo F1 and the screen replay F2 as spoofs', async () => {
    const f1 = await scoreOf('image_F1.jpg');
    const f2 = await scoreOf('image_F2.jpg');
    expect(f1.live).toBe(false);
    expect(f2.live).toBe(false);
    // the upstream argmax label agrees: class 2, a spoof type
    expect(f1.label).toBe(2);
    expect(f2.label).toBe(2);
    expect(f1.realScore).toBeLessThan(0.4);
    expect(f2.realScore).toBeLessThan(0.05);
  });

  it('states the models it loaded, by manifest name and sha256', () => {
    expect(liveness.models.map((m) => m.name)).toEqual(['minifasnet-v2-2.7', 'minifasnet-v1se-4.0']);
    for (const m of liveness.models) expect(m.sha256).toMatch(/^[0-9a-f]{64}$/);
  });
});
