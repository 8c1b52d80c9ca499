import { describe, expect, it } from 'vitest';
import type { FaceDetection, Point } from '../types.js';
import { ARCFACE_TEMPLATE_112, type AlignedFace } from './align.js';
import {
  alignedSharpness,
  assessQuality,
  bgrToGray,
  DEFAULT_QUALITY_OPTIONS,
  estimatePose,
  laplacianVariance,
  TEMPLATE_NOSE_RATIO,
  YUNET_FRONTAL_NOSE_RATIO,
} from './quality.js';

type Five = [Point, Point, Point, Point, Point];

/**
 * A generic head in 3-D (x right, y down, z towards the camera), with the nose depth the
 * estimator assumes (0.7 × half eye distance), projected orthographically after rotations.
 */
function projectHead(yawDeg: number, pitchDeg: number, rollDeg: number, scale = 3, at: Point = [300, 200]): Five {
  const e = 17.6;
  // the nose at YuNet's frontal height between eyes (y 0) and mouth (y 40.7)
  const noseY = YUNET_FRONTAL_NOSE_RATIO * 40.7;
  const pts3: [number, number, number][] = [
    [-e, 0, 0],
    [e, 0, 0],
    [0, noseY, 0.7 * e],
    [-14.6, 40.7, 0],
    [14.6, 40.7, 0],
  ];
  const ya = (yawDeg * Math.PI) / 180;
  const pa = (pitchDeg * Math.PI) / 180;
  const ra = (rollDeg * Math.PI) / 180;
  return pts3.map(([x, y, z]): Point => {
    // yaw about the vertical axis: the nose (z > 0) moves towards +x for a positive yaw
    const x1 = x * Math.cos(ya) + z * Math.sin(ya);
    const z1 = -x * Math.sin(ya) + z * Math.cos(ya);
    // pitch about the horizontal axis: the nose moves down (+y) for a positive pitch
    const y2 = y * Math.cos(pa) + z1 * Math.sin(pa);
    // roll in the image plane
    const x3 = x1 * Math.cos(ra) - y2 * Math.sin(ra);
    const y3 = x1 * Math.sin(ra) + y2 * Math.cos(ra);
    return [at[0] + scale * x3, at[1] + scale * y3];
  }) as Five;
}

describe('estimatePose', () => {
  it('reads the ArcFace template as frontal given the template nose ratio', () => {
    const p = estimatePose(ARCFACE_TEMPLATE_112, TEMPLATE_NOSE_RATIO);
    expect(Math.abs(p.yawDeg)).toBeLessThan(1);
    expect(Math.abs(p.pitchDeg)).toBeLessThan(1);
    expect(Math.abs(p.rollDeg)).toBeLessThan(1);
  });

  it.each([
    [25, 0, 0],
    [-40, 0, 0],
    [0, 0, 20],
    [0, 0, -35],
    [0, 15, 0],
    [0, -20, 0],
  ])('recovers yaw %d°, pitch %d°, roll %d° of a projected generic head', (yaw, pitch, roll) => {
    const p = estimatePose(projectHead(yaw, pitch, roll));
    expect(p.yawDeg).toBeCloseTo(yaw, -0.5); // within ~1.6°
    expect(p.rollDeg).toBeCloseTo(roll, 0);
    expect(p.pitchDeg).toBeCloseTo(pitch, -0.5);
  });

  it('stays within a few degrees when yaw, pitch and roll combine', () => {
    // yaw then pitch tilts the eye line by atan(tan(yaw)·sin(pitch)) ≈ 3.6° here: 2-D landmarks
    // cannot tell that from roll, so only a coarse agreement is expected
    const p = estimatePose(projectHead(20, 10, 15));
    expect(Math.abs(p.yawDeg - 20)).toBeLessThan(5);
    expect(Math.abs(p.pitchDeg - 10)).toBeLessThan(5);
    expect(Math.abs(p.rollDeg - 15)).toBeLessThan(5);
  });
});

describe('laplacianVariance', () => {
  it('is 0 on a flat image and 1020² on a one-pixel checkerboard of 0/255', () => {
    const flat = new Float32Array(16 * 16).fill(128);
    expect(laplacianVariance(flat, 16, 16)).toBe(0);
    const board = new Float32Array(16 * 16);
    for (let y = 0; y < 16; y++) for (let x = 0; x < 16; x++) board[y * 16 + x] = (x + y) % 2 ? 255 : 0;
    expect(laplacianVariance(board, 16, 16)).toBeCloseTo(1020 * 1020, 3);
  });

  it('drops when the same texture is blurred', () => {
    let s = 7;
    const rnd = () => ((s = (s * 16807) % 2147483647) / 2147483647) * 255;
    const w = 40;
    const sharp = Float32Array.from({ length: w * w }, rnd);
    const blurred = new Float32Array(w * w);
    for (let y = 1; y < w - 1; y++) {
      for (let x = 1; x < w - 1; x++) {
        let acc = 0;
        for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) acc += sharp[(y + dy) * w + x + dx]!;
        blurred[y * w + x] = acc / 9;
      }
    }
    expect(laplacianVariance(blurred, w, w, 2)).toBeLessThan(laplacianVariance(sharp, w, w, 2) / 5);
  });

  it('alignedSharpness equals the trimmed Laplacian variance of the whole grey crop, exactly', () => {
    const crop = new Uint8Array(112 * 112 * 3);
    for (let i = 0; i < crop.length; i++) crop[i] = (Math.imul(i, 2654435761) >>> 23) & 0xff;
    const aligned: AlignedFace = { size: 112, data: crop, transform: { a: 1, b: 0, tx: 0, ty: 0 } };
    const whole = laplacianVariance(bgrToGray(crop, 112 * 112), 112, 112, 16);
    expect(whole).toBeGreaterThan(100);
    expect(alignedSharpness(aligned)).toBe(whole);
  });

  it('converts BGR to grey with BT.601 weights', () => {
    const g = bgrToGray(Uint8Array.from([255, 0, 0, 0, 255, 0, 0, 0, 255]), 3);
    expect(Array.from(g).map((v) => Math.round(v * 1000) / 1000)).toEqual([29.07, 149.685, 76.245]);
  });
});

function crop(fill: (i: number) => number): AlignedFace {
  const data = new Uint8Array(112 * 112 * 3);
  for (let i = 0; i < 112 * 112; i++) data.fill(fill(i), i * 3, i * 3 + 3);
  return { size: 112, data, transform: { a: 1, b: 0, tx: 0, ty: 0 } };
}

const textured = crop((i) => ((i * 2654435761) >>> 24) & 0xff);

function face(landmarks: Five, side: number): FaceDetection {
  return { box: { x: 200, y: 120, w: side, h: side * 1.2 }, score: 0.93, landmarks };
}

describe('assessQuality', () => {
  it('accepts a large, sharp, frontal face with a positive score', () => {
    const q = assessQuality(face(projectHead(0, 0, 0, 3), 110), textured);
    expect(q.failures).toEqual([]);
    expect(q.ok).toBe(true);
    expect(q.score).toBeGreaterThan(0.9);
    expect(q.interOcularPx).toBeCloseTo(3 * 35.2, 5);
    expect(q.faceSizePx).toBe(110);
    expect(q.detectionScore).toBe(0.93);
  });

  it('names every failed minimum and scores 0', () => {
    const flat = crop(() => 90);
    const q = assessQuality(face(projectHead(60, 0, 0, 0.5), 30), flat);
    expect(q.failures).toEqual(expect.arrayContaining(['face-too-small', 'eyes-too-close', 'blurred', 'yaw']));
    expect(q.ok).toBe(false);
    expect(q.score).toBe(0);
  });

  it('ranks a turned face below a frontal one and honours configured limits', () => {
    const frontal = assessQuality(face(projectHead(0, 0, 0, 3), 110), textured);
    const turned = assessQuality(face(projectHead(20, 0, 0, 3), 110), textured);
    expect(turned.ok).toBe(true);
    expect(turned.score).toBeLessThan(frontal.score);
    const strict = assessQuality(face(projectHead(20, 0, 0, 3), 110), textured, { maxYawDeg: 15 });
    expect(strict.failures).toEqual(['yaw']);
    expect(DEFAULT_QUALITY_OPTIONS.maxYawDeg).toBeGreaterThan(15);
  });
});
