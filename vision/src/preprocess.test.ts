import { describe, expect, it } from 'vitest';
import {
  createPreprocessor,
  planLetterbox,
  planPadToMultiple,
  planToBoxMap,
  type PackedImage,
  type TensorFormat,
} from './preprocess.js';
import { VisionError } from './vision-error.js';

/** Build a packed 3-channel image from [b,g,r] pixels, row-major. */
function image(width: number, height: number, pixels: [number, number, number][]): PackedImage {
  return { width, height, data: Uint8Array.from(pixels.flat()) };
}

/** Read channel c of the NCHW tensor at (x, y). */
function at(t: Float32Array, w: number, h: number, c: number, x: number, y: number): number {
  return t[c * w * h + y * w + x]!;
}

describe('resize plans', () => {
  it('letterboxes 768×432 into 416×416 at the top-left with r = 416/768', () => {
    const p = planLetterbox(768, 432, 416, 416);
    expect(p).toEqual({
      srcWidth: 768,
      srcHeight: 432,
      resizedWidth: 416,
      resizedHeight: 234, // round(432 · 0.5417) = round(234.0)
      dstWidth: 416,
      dstHeight: 416,
      offsetX: 0,
      offsetY: 0,
    });
    const m = planToBoxMap(p);
    expect(m.scaleX).toBeCloseTo(768 / 416, 10);
    expect(m.scaleY).toBeCloseTo(432 / 234, 10);
  });

  it('centres the letterbox when asked: (416 − 234) / 2 = 91 rows above', () => {
    const p = planLetterbox(768, 432, 416, 416, 'centre');
    expect([p.offsetX, p.offsetY]).toEqual([0, 91]);
    expect(planToBoxMap(p)).toMatchObject({ offsetX: 0, offsetY: 91 });
  });

  it('scales a small source up to fill the letterbox', () => {
    const p = planLetterbox(100, 50, 320, 320);
    expect([p.resizedWidth, p.resizedHeight]).toEqual([320, 160]);
  });

  it('pads to multiples of 32 without resizing when the frame is small enough', () => {
    expect(planPadToMultiple(250, 250, 32, 640)).toMatchObject({
      resizedWidth: 250,
      resizedHeight: 250,
      dstWidth: 256,
      dstHeight: 256,
    });
    expect(planPadToMultiple(640, 480, 32, 640)).toMatchObject({ dstWidth: 640, dstHeight: 480 });
  });

  it('downscales a frame whose longer side exceeds maxSide, then pads: 1280×720 → 640×360 in 640×384', () => {
    const p = planPadToMultiple(1280, 720, 32, 640);
    expect(p).toMatchObject({ resizedWidth: 640, resizedHeight: 360, dstWidth: 640, dstHeight: 384 });
    expect(planToBoxMap(p)).toEqual({ offsetX: 0, offsetY: 0, scaleX: 2, scaleY: 2 });
  });

  it('rejects empty sizes', () => {
    expect(() => planLetterbox(0, 10, 32, 32)).toThrow(RangeError);
    expect(() => planPadToMultiple(10, -1, 32)).toThrow(RangeError);
  });
});

describe('createPreprocessor', () => {
  // 2×2 BGR image
  const img = image(2, 2, [
    [1, 2, 3],
    [4, 5, 6],
    [7, 8, 9],
    [10, 11, 12],
  ]);

  it('de-interleaves BGR into planes and zero-pads bottom/right', () => {
    const pre = createPreprocessor((w, h) => planPadToMultiple(w, h, 4));
    const { data, plan } = pre.run(img);
    expect([plan.dstWidth, plan.dstHeight]).toEqual([4, 4]);
    expect(data.length).toBe(3 * 16);
    // plane 0 = B
    expect(Array.from(data.subarray(0, 16))).toEqual([1, 4, 0, 0, 7, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    // plane 2 = R
    expect(Array.from(data.subarray(32, 48))).toEqual([3, 6, 0, 0, 9, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  });

  it('swaps to RGB and applies mean/std per output channel, padding included', () => {
    const pre = createPreprocessor((w, h) => planPadToMultiple(w, h, 4), {
      swapRB: true,
      mean: [1, 2, 3],
      std: [2, 4, 8],
      padValue: 11,
    });
    const { data } = pre.run(img);
    // output channel 0 is R: (3 − 1)/2 = 1 at (0,0); (12 − 1)/2 = 5.5 at (1,1)
    expect(at(data, 4, 4, 0, 0, 0)).toBe(1);
    expect(at(data, 4, 4, 0, 1, 1)).toBe(5.5);
    // channel 1 is G: (5 − 2)/4
    expect(at(data, 4, 4, 1, 1, 0)).toBe(0.75);
    // channel 2 is B: (7 − 3)/8
    expect(at(data, 4, 4, 2, 0, 1)).toBe(0.5);
    // padding is the pad value normalised like a pixel: (11 − 1)/2, (11 − 2)/4, (11 − 3)/8
    expect(at(data, 4, 4, 0, 3, 3)).toBe(5);
    expect(at(data, 4, 4, 1, 2, 0)).toBe(2.25);
    expect(at(data, 4, 4, 2, 0, 2)).toBe(1);
  });

  it('halves a row bilinearly: each output pixel is the mean of two source pixels', () => {
    const row = image(4, 1, [
      [0, 0, 0],
      [10, 20, 30],
      [100, 100, 100],
      [200, 0, 50],
    ]);
    const pre = createPreprocessor((w, h) => planLetterbox(w, h, 2, 1));
    const { data, plan } = pre.run(row);
    expect([plan.resizedWidth, plan.resizedHeight]).toEqual([2, 1]);
    // src x = (d + 0.5)·2 − 0.5 → 0.5 and 2.5
    expect(Array.from(data)).toEqual([5, 150, 10, 50, 15, 75]);
  });

  it('doubles a row bilinearly with edge clamping: weights 1, ¾/¼, ¼/¾, 1', () => {
    const row = image(2, 1, [
      [0, 40, 100],
      [80, 0, 20],
    ]);
    const pre = createPreprocessor((w, h) => planLetterbox(w, h, 4, 2));
    const { data, plan } = pre.run(row);
    expect([plan.resizedWidth, plan.resizedHeight]).toEqual([4, 2]);
    // src x = (d + 0.5)/2 − 0.5 → −0.25 (clamped to 0), 0.25, 0.75, 1.25 (clamped to 1)
    const b = Array.from(data.subarray(0, 4));
    expect(b).toEqual([0, 20, 60, 80]);
    const r = Array.from(data.subarray(16, 20));
    expect(r).toEqual([100, 80, 40, 20]);
    // both rows sample the single source row
    expect(Array.from(data.subarray(4, 8))).toEqual(b);
  });

  it('interpolates in both axes: the centre of a 2×2 block downscaled to 1×1 is the mean of all four', () => {
    const pre = createPreprocessor((w, h) => planLetterbox(w, h, 1, 1));
    const { data } = pre.run(img);
    expect(Array.from(data)).toEqual([(1 + 4 + 7 + 10) / 4, (2 + 5 + 8 + 11) / 4, (3 + 6 + 9 + 12) / 4]);
  });

  it('matches a naive four-tap bilinear reference on a random image, down, up and mixed', () => {
    // deterministic pseudo-random 37×23 image
    const w = 37;
    const h = 23;
    const data = new Uint8Array(w * h * 3);
    let seed = 12345;
    for (let i = 0; i < data.length; i++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      data[i] = seed >>> 24;
    }
    const src = { width: w, height: h, data };
    /** cv2 INTER_LINEAR sample position, clamped at the edges */
    const pos = (d: number, scale: number, size: number): [number, number, number] => {
      const s = Math.max(0, (d + 0.5) * scale - 0.5);
      const i0 = Math.min(Math.floor(s), size - 1);
      const f = i0 >= size - 1 ? 0 : s - i0;
      return [i0, Math.min(i0 + 1, size - 1), f];
    };
    for (const [rw, rh] of [
      [11, 7],
      [80, 50],
      [20, 40],
    ] as const) {
      const pre = createPreprocessor(() => ({
        srcWidth: w,
        srcHeight: h,
        resizedWidth: rw,
        resizedHeight: rh,
        dstWidth: rw + 3,
        dstHeight: rh + 2,
        offsetX: 2,
        offsetY: 1,
      }));
      const { data: t } = pre.run(src);
      let worst = 0;
      for (let y = 0; y < rh; y++) {
        const [y0, y1, fy] = pos(y, h / rh, h);
        for (let x = 0; x < rw; x++) {
          const [x0, x1, fx] = pos(x, w / rw, w);
          for (let c = 0; c < 3; c++) {
            const p = (xx: number, yy: number) => data[(yy * w + xx) * 3 + c]!;
            const want =
              p(x0, y0) * (1 - fx) * (1 - fy) + p(x1, y0) * fx * (1 - fy) + p(x0, y1) * (1 - fx) * fy + p(x1, y1) * fx * fy;
            worst = Math.max(worst, Math.abs(at(t, rw + 3, rh + 2, c, x + 2, y + 1) - want));
          }
        }
      }
      expect(worst).toBeLessThan(1e-3);
    }
  });

  it('places a centred letterbox with the pad value around it', () => {
    const pre = createPreprocessor((w, h) => planLetterbox(w, h, 4, 4, 'centre'), { padValue: 114 });
    const wide = image(4, 2, Array.from({ length: 8 }, (_, i) => [i, i, i] as [number, number, number]));
    const { data } = pre.run(wide);
    // rows 1 and 2 hold the image, rows 0 and 3 are padding
    expect(Array.from(data.subarray(0, 16))).toEqual([114, 114, 114, 114, 0, 1, 2, 3, 4, 5, 6, 7, 114, 114, 114, 114]);
  });

  it('reuses its output buffer for frames of the same size and re-plans when the size changes', () => {
    const pre = createPreprocessor((w, h) => planLetterbox(w, h, 4, 4), { padValue: 9 });
    const first = pre.run(image(4, 4, Array.from({ length: 16 }, () => [1, 1, 1] as [number, number, number])));
    const second = pre.run(image(4, 4, Array.from({ length: 16 }, () => [2, 2, 2] as [number, number, number])));
    expect(second.data).toBe(first.data);
    expect(second.data[0]).toBe(2);
    // a 4×2 frame now leaves rows 2–3 as padding: the old pixels there must not survive
    const third = pre.run(image(4, 2, Array.from({ length: 8 }, () => [3, 3, 3] as [number, number, number])));
    expect(third.plan.resizedHeight).toBe(2);
    expect(third.data[0]).toBe(3);
    expect(third.data[2 * 4 + 1]).toBe(9);
  });

  it('de-interleaves identically through the 32-bit word path, the byte path and a per-pixel reference', () => {
    // 7×3 = 21 pixels: five 4-pixel groups and one left over; multiple 1 keeps the rows contiguous
    const w = 7;
    const h = 3;
    const bytes = new Uint8Array(w * h * 3 + 1);
    let seed = 4242;
    for (let i = 0; i < bytes.length; i++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      bytes[i] = seed >>> 24;
    }
    const aligned = bytes.subarray(0, w * h * 3); // byteOffset 0: word path
    const unaligned = bytes.subarray(1); // byteOffset 1: byte path
    const formats: TensorFormat[] = [
      {},
      { swapRB: true, mean: [103.53, 116.28, 123.675], std: [57.375, 57.12, 58.395] },
    ];
    for (const format of formats) {
      const mean = format.mean ?? [0, 0, 0];
      const std = format.std ?? [1, 1, 1];
      const swap = format.swapRB === true;
      for (const data of [aligned, unaligned]) {
        for (const [multiple, dstW, dstH] of [
          [1, w, h], // contiguous rows
          [4, 8, 4], // a padding column and row: row by row
        ] as const) {
          const pre = createPreprocessor((sw, sh) => planPadToMultiple(sw, sh, multiple), format);
          const { data: t } = pre.run({ width: w, height: h, data });
          for (let y = 0; y < h; y++) {
            for (let x = 0; x < w; x++) {
              for (let k = 0; k < 3; k++) {
                const c = swap ? 2 - k : k; // output channel of source byte k
                const want = Math.fround((data[(y * w + x) * 3 + k]! - mean[c]!) * (1 / std[c]!));
                expect(at(t, dstW, dstH, c, x, y)).toBe(want);
              }
            }
          }
        }
      }
    }
  });

  it('rejects a buffer that does not match its size', () => {
    const pre = createPreprocessor((w, h) => planPadToMultiple(w, h, 32));
    const bad = { width: 4, height: 4, data: new Uint8Array(10) };
    expect(() => pre.run(bad)).toThrow(VisionError);
    expect(() => pre.run(bad)).toThrow(/expected 4×4×3 = 48/);
  });
});
