import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Detector, Frame, PersonDetection } from '../types.js';
import { createNanodetDetector } from './nanodet-detector.js';
import { createYoloxDetector } from './yolox-detector.js';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const DATA_DIR = process.env.PORTAIL_DATA_DIR ?? resolve(REPO_ROOT, '..', 'shared', 'data');
const FFMPEG = process.env.FFMPEG_PATH ?? 'ffmpeg';
const FFPROBE = process.env.FFPROBE_PATH ?? 'ffprobe';

/** One decoded frame of a clip at `atS` seconds, as BGR24 in memory (nothing is written to disk). */
function clipFrame(file: string, atS: number): Frame {
  const path = resolve(DATA_DIR, 'clips', file);
  const [width, height] = execFileSync(FFPROBE, [
    '-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=width,height', '-of', 'csv=p=0', path,
  ]).toString().trim().split(',').map(Number) as [number, number];
  const raw = execFileSync(
    FFMPEG,
    ['-v', 'error', '-ss', String(atS), '-i', path, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'bgr24', 'pipe:1'],
    { maxBuffer: width * height * 3 + 1024 },
  );
  if (raw.length !== width * height * 3) throw new Error(`ffmpeg gave ${raw.length} bytes for a ${width}×${height} frame of ${file}`);
  return { cameraId: file, seq: 0, tsMs: 0, width, height, data: new Uint8Array(raw.buffer, raw.byteOffset, raw.length) };
}

function expectInside(found: PersonDetection[], frame: Frame): void {
  for (const p of found) {
    expect(p.box.x).toBeGreaterThanOrEqual(0);
    expect(p.box.y).toBeGreaterThanOrEqual(0);
    expect(p.box.w).toBeGreaterThan(0);
    expect(p.box.h).toBeGreaterThan(0);
    expect(p.box.x + p.box.w).toBeLessThanOrEqual(frame.width);
    expect(p.box.y + p.box.h).toBeLessThanOrEqual(frame.height);
  }
}

const implementations: {
  name: string;
  create: () => Promise<Detector<PersonDetection>>;
  minStreetPersons: number;
}[] = [
  { name: 'yolox-nano-416', create: () => createYoloxDetector({ model: 'yolox-nano-416' }), minStreetPersons: 10 },
  { name: 'yolox-nano-480x640', create: () => createYoloxDetector({ model: 'yolox-nano-480x640' }), minStreetPersons: 10 },
  { name: 'nanodet-m-320', create: () => createNanodetDetector(), minStreetPersons: 8 },
];

// 768×432 indoor clip: at 40 s one man stands at the tall table, seen from behind, x ≈ 385–545, y ≈ 5–385
const indoor = clipFrame('intel-one-by-one-person-detection.mp4', 40);
// 1920×1080 night street with dozens of small pedestrians
const street = clipFrame('mmtracking-demo-street.mp4', 1);

describe.each(implementations)('person detector $name on real frames', ({ name, create, minStreetPersons }) => {
  let detector: Detector<PersonDetection>;
  beforeAll(async () => {
    detector = await create();
  });
  afterAll(async () => {
    await detector.close();
  });

  it('reports the model it runs', () => {
    expect(detector.modelName).toBe(name);
    expect(detector.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(detector.provider).toBe('cpu');
  });

  it('finds the person at the table in the indoor clip, with a box inside the frame around him', async () => {
    const found = await detector.detect(indoor);
    expect(found.length).toBeGreaterThanOrEqual(1);
    expectInside(found, indoor);
    const best = found[0]!;
    expect(best.score).toBeGreaterThan(0.5);
    const cx = best.box.x + best.box.w / 2;
    expect(cx).toBeGreaterThan(420);
    expect(cx).toBeLessThan(510);
    expect(best.box.h).toBeGreaterThan(300); // head to shoes
    expect(best.box.w).toBeLessThan(best.box.h);
  });

  it('finds many pedestrians in the 1080p street frame, boxes inside the frame, sorted by score', async () => {
    const found = await detector.detect(street);
    expect(found.length).toBeGreaterThanOrEqual(minStreetPersons);
    expectInside(found, street);
    for (let i = 1; i < found.length; i++) expect(found[i]!.score).toBeLessThanOrEqual(found[i - 1]!.score);
  });

  it('finds nobody in a uniform gray frame and counts its runs', async () => {
    const before = detector.stats();
    const gray: Frame = { cameraId: 't', seq: 0, tsMs: 0, width: 640, height: 480, data: new Uint8Array(640 * 480 * 3).fill(128) };
    expect(await detector.detect(gray)).toEqual([]);
    const after = detector.stats();
    expect(after.framesRun).toBe(before.framesRun + 1);
    expect(after.detections).toBe(before.detections);
    expect(after.lastInferenceMs).toBeGreaterThan(0);
  });
});

describe('person detector factories fail clearly without their model', () => {
  let empty: string;
  beforeAll(() => {
    empty = mkdtempSync(join(tmpdir(), 'portail-no-models-'));
  });
  afterAll(() => {
    rmSync(empty, { recursive: true, force: true });
  });

  it.each([
    ['yolox', () => createYoloxDetector({ modelsDir: empty }), 'person_yolox_nano_416.onnx'],
    ['yolox 480x640', () => createYoloxDetector({ model: 'yolox-nano-480x640', modelsDir: empty }), 'person_yolox_nano_480x640.onnx'],
    ['nanodet', () => createNanodetDetector({ modelsDir: empty }), 'person_nanodet_m_320.onnx'],
  ])('%s', async (_name, create, file) => {
    const err = await create().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'MODEL_ERR_NOT_FOUND' });
    expect((err as Error).message).toContain(file);
    expect((err as Error).message).toContain(empty);
  });
});
