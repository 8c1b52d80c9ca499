import { describe, expect, it } from 'vitest';
import { VisionError } from '../vision-error.js';
import { decodeYunet } from './yunet-decode.js';

/**
 * A 64×32 input: stride 8 has 8×4 cells, stride 16 has 4×2, stride 32 has 2×1.
 * Zero outputs everywhere except the cells each test sets.
 */
function emptyOutputs(): Record<string, Float32Array> {
  const out: Record<string, Float32Array> = {};
  for (const [s, n] of [
    [8, 32],
    [16, 8],
    [32, 2],
  ] as const) {
    out[`cls_${s}`] = new Float32Array(n);
    out[`obj_${s}`] = new Float32Array(n);
    out[`bbox_${s}`] = new Float32Array(n * 4);
    out[`kps_${s}`] = new Float32Array(n * 10);
  }
  return out;
}

function setCell(
  o: Record<string, Float32Array>,
  s: number,
  idx: number,
  cls: number,
  obj: number,
  bbox: number[],
  kps: number[] = new Array<number>(10).fill(0),
): void {
  o[`cls_${s}`]![idx] = cls;
  o[`obj_${s}`]![idx] = obj;
  o[`bbox_${s}`]!.set(bbox, idx * 4);
  o[`kps_${s}`]!.set(kps, idx * 10);
}

describe('decodeYunet', () => {
  // stride 8, row 1, col 2 → idx 1·8 + 2 = 10; score sqrt(0.81·1) = 0.9
  // centre ((2+0.5)·8, (1+0.5)·8) = (20, 12), size (e^ln2·8, e^ln3·8) = (16, 24) → box (12, 0, 16, 24)
  // landmarks ((k+2)·8, (k'+1)·8): (16,8) (24,8) (20,12) (16,16) (24,16)
  const face = {
    s: 8,
    idx: 10,
    cls: 0.81,
    obj: 1,
    bbox: [0.5, 0.5, Math.log(2), Math.log(3)],
    kps: [0, 0, 1, 0, 0.5, 0.5, 0, 1, 1, 1],
  };

  it('decodes one face: box, score and the 5 landmarks in order', () => {
    const o = emptyOutputs();
    setCell(o, face.s, face.idx, face.cls, face.obj, face.bbox, face.kps);
    const faces = decodeYunet(o, 64, 32, { scoreThreshold: 0.6, nmsIou: 0.3 });
    expect(faces).toHaveLength(1);
    const [f] = faces;
    expect(f!.score).toBeCloseTo(0.9, 6);
    expect(f!.box.x).toBeCloseTo(12, 5);
    expect(f!.box.y).toBeCloseTo(0, 5);
    expect(f!.box.w).toBeCloseTo(16, 5);
    expect(f!.box.h).toBeCloseTo(24, 5);
    const expected = [
      [16, 8],
      [24, 8],
      [20, 12],
      [16, 16],
      [24, 16],
    ];
    f!.landmarks.forEach(([x, y], k) => {
      expect(x).toBeCloseTo(expected[k]![0]!, 5);
      expect(y).toBeCloseTo(expected[k]![1]!, 5);
    });
  });

  it('maps coordinates back through the box map (downscaled frame ×2)', () => {
    const o = emptyOutputs();
    setCell(o, face.s, face.idx, face.cls, face.obj, face.bbox, face.kps);
    const [f] = decodeYunet(o, 64, 32, {
      scoreThreshold: 0.6,
      nmsIou: 0.3,
      map: { offsetX: 0, offsetY: 0, scaleX: 2, scaleY: 2 },
    });
    expect(f!.box.x).toBeCloseTo(24, 5);
    expect(f!.box.w).toBeCloseTo(32, 5);
    expect(f!.landmarks[2][0]).toBeCloseTo(40, 5);
    expect(f!.landmarks[2][1]).toBeCloseTo(24, 5);
  });

  it('clamps cls and obj to [0,1] before the geometric mean', () => {
    const o = emptyOutputs();
    setCell(o, 8, 0, 1.5, -0.2, [0.5, 0.5, 0, 0]); // clamp → sqrt(1·0) = 0
    setCell(o, 8, 31, 1.5, 0.64, [0.5, 0.5, 0, 0]); // clamp → sqrt(1·0.64) = 0.8
    const faces = decodeYunet(o, 64, 32, { scoreThreshold: 0.1, nmsIou: 0.3 });
    expect(faces).toHaveLength(1);
    expect(faces[0]!.score).toBeCloseTo(0.8, 6);
    // idx 31 = row 3, col 7 → centre (60, 28)
    expect(faces[0]!.box.x + faces[0]!.box.w / 2).toBeCloseTo(60, 5);
    expect(faces[0]!.box.y + faces[0]!.box.h / 2).toBeCloseTo(28, 5);
  });

  it('suppresses a lower-scored duplicate from another stride and applies the threshold', () => {
    const o = emptyOutputs();
    setCell(o, face.s, face.idx, face.cls, face.obj, face.bbox, face.kps);
    // stride 16, row 0, col 1 → idx 1: centre ((1+0.25)·16, 0.75·16) = (20, 12), size (16, 24): the same box, score 0.8
    setCell(o, 16, 1, 0.64, 1, [0.25, 0.75, 0, Math.log(1.5)]);
    // stride 32, col 1 → idx 1: centre (48, 16), size 32×32, score sqrt(0.49·0.49) = 0.49, no overlap
    setCell(o, 32, 1, 0.49, 0.49, [0.5, 0.5, 0, 0]);
    const strict = decodeYunet(o, 64, 32, { scoreThreshold: 0.6, nmsIou: 0.3 });
    expect(strict.map((f) => Number(f.score.toFixed(3)))).toEqual([0.9]);
    const loose = decodeYunet(o, 64, 32, { scoreThreshold: 0.4, nmsIou: 0.3 });
    expect(loose.map((f) => Number(f.score.toFixed(3)))).toEqual([0.9, 0.49]);
    expect(loose[1]!.box).toEqual({ x: 32, y: 0, w: 32, h: 32 });
    // with NMS off (IoU threshold 1), the duplicate comes back
    const all = decodeYunet(o, 64, 32, { scoreThreshold: 0.6, nmsIou: 1 });
    expect(all).toHaveLength(2);
  });

  it('keeps a cell whose score equals the threshold exactly and drops it one float step above', () => {
    const o = emptyOutputs();
    setCell(o, face.s, face.idx, 0.37, 0.91, face.bbox, face.kps);
    const score = Math.sqrt(Math.fround(0.37) * Math.fround(0.91));
    expect(decodeYunet(o, 64, 32, { scoreThreshold: score, nmsIou: 0.3 }).map((f) => f.score)).toEqual([score]);
    const above = score + Number.EPSILON * score;
    expect(decodeYunet(o, 64, 32, { scoreThreshold: above, nmsIou: 0.3 })).toEqual([]);
  });

  it('returns [] when nothing passes the threshold', () => {
    expect(decodeYunet(emptyOutputs(), 64, 32, { scoreThreshold: 0.6, nmsIou: 0.3 })).toEqual([]);
  });

  it('fails clearly on a missing tensor, a size mismatch or an input not a multiple of 32', () => {
    const missing = emptyOutputs();
    delete missing.kps_16;
    expect(() => decodeYunet(missing, 64, 32, { scoreThreshold: 0.6, nmsIou: 0.3 })).toThrow(/kps_16 is missing/);
    const o = emptyOutputs();
    expect(() => decodeYunet(o, 64, 64, { scoreThreshold: 0.6, nmsIou: 0.3 })).toThrow(VisionError);
    expect(() => decodeYunet(o, 64, 64, { scoreThreshold: 0.6, nmsIou: 0.3 })).toThrow(/cls_8 has 32 values, expected 64×1/);
    expect(() => decodeYunet(o, 60, 32, { scoreThreshold: 0.6, nmsIou: 0.3 })).toThrow(RangeError);
  });
});
