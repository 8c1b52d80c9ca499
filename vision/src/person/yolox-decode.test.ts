import { describe, expect, it } from 'vitest';
import { VisionError } from '../vision-error.js';
import { decodeYolox } from './yolox-decode.js';

/** A 64×32 input: strides 8/16/32 give 8×4 + 4×2 + 2×1 = 42 rows of 85. */
const ROWS = 42;
const ROW = 85;

function setRow(out: Float32Array, row: number, t: number[], obj: number, cls: Record<number, number>): void {
  out.set(t, row * ROW);
  out[row * ROW + 4] = obj;
  for (const [k, v] of Object.entries(cls)) out[row * ROW + 5 + Number(k)] = v;
}

describe('decodeYolox', () => {
  // stride 16, gx 1, gy 1 → row 32 + 1·4 + 1 = 37; centre (1.5·16, 1.5·16) = (24, 24),
  // size (2·16, 4·16) = (32, 64) → box (8, −8, 32, 64); score 0.9·0.8 = 0.72
  const person = { row: 37, t: [0.5, 0.5, Math.log(2), Math.log(4)], obj: 0.9, cls: { 0: 0.8 } };

  it('decodes a person box with score obj·cls0 in input pixels', () => {
    const out = new Float32Array(ROWS * ROW);
    setRow(out, person.row, person.t, person.obj, person.cls);
    const found = decodeYolox(out, 64, 32, { scoreThreshold: 0.3, nmsIou: 0.45 });
    expect(found).toHaveLength(1);
    expect(found[0]!.score).toBeCloseTo(0.72, 6);
    const b = found[0]!.box;
    expect([b.x, b.y, b.w, b.h].map((v) => Number(v.toFixed(4)))).toEqual([8, -8, 32, 64]);
  });

  it('maps back by the letterbox scale and clips to the frame', () => {
    const out = new Float32Array(ROWS * ROW);
    setRow(out, person.row, person.t, person.obj, person.cls);
    const [p] = decodeYolox(out, 64, 32, {
      scoreThreshold: 0.3,
      nmsIou: 0.45,
      map: { offsetX: 0, offsetY: 0, scaleX: 2, scaleY: 2 },
      clip: { width: 100, height: 100 },
    });
    // (16, −16, 64, 128) clipped to [0,100]² → (16, 0, 64, 100)
    expect([p!.box.x, p!.box.y, p!.box.w, p!.box.h].map((v) => Number(v.toFixed(4)))).toEqual([16, 0, 64, 100]);
  });

  it('ignores other classes, applies the threshold and suppresses a duplicate from another stride', () => {
    const out = new Float32Array(ROWS * ROW);
    setRow(out, person.row, person.t, person.obj, person.cls);
    // stride 8, gx 3, gy 3 → row 27: centre (24, 24), size (4·8, 8·8) = the same box; score 0.5·0.9 = 0.45
    setRow(out, 27, [0, 0, Math.log(4), Math.log(8)], 0.5, { 0: 0.9 });
    // stride 32, gx 1 → row 41: a confident car (class 2), not a person
    setRow(out, 41, [0.5, 0.5, 0, 0], 0.99, { 0: 0.01, 2: 0.99 });
    // stride 8 row 0: a person at 0.25 — under 0.3
    setRow(out, 0, [0.5, 0.5, 0, 0], 0.5, { 0: 0.5 });
    const found = decodeYolox(out, 64, 32, { scoreThreshold: 0.3, nmsIou: 0.45 });
    expect(found.map((p) => Number(p.score.toFixed(3)))).toEqual([0.72]);
    const low = decodeYolox(out, 64, 32, { scoreThreshold: 0.2, nmsIou: 0.45 });
    expect(low.map((p) => Number(p.score.toFixed(3)))).toEqual([0.72, 0.25]);
    const noNms = decodeYolox(out, 64, 32, { scoreThreshold: 0.3, nmsIou: 1 });
    expect(noNms.map((p) => Number(p.score.toFixed(3)))).toEqual([0.72, 0.45]);
    const cars = decodeYolox(out, 64, 32, { scoreThreshold: 0.3, nmsIou: 0.45, classIndex: 2 });
    expect(cars.map((p) => Number(p.score.toFixed(4)))).toEqual([0.9801]);
  });

  it('rejects an output whose size does not match the input size', () => {
    expect(() => decodeYolox(new Float32Array(ROWS * ROW), 64, 64, { scoreThreshold: 0.3, nmsIou: 0.45 })).toThrow(
      VisionError,
    );
    expect(() => decodeYolox(new Float32Array(10), 64, 32, { scoreThreshold: 0.3, nmsIou: 0.45 })).toThrow(
      /expected 42×85 for a 64×32 input/,
    );
  });
});
