import { describe, expect, it } from 'vitest';
import type { Point } from '../types.js';
import {
  ARCFACE_TEMPLATE_112,
  alignFace,
  applySimilarity,
  estimateSimilarity,
  FaceAlignError,
  invertSimilarity,
  similarityScale,
  warpSimilarity,
} from './align.js';

function similarity(scale: number, angleRad: number, tx: number, ty: number) {
  return { a: scale * Math.cos(angleRad), b: scale * Math.sin(angleRad), tx, ty };
}

/** A small deterministic PRNG so the noise test is reproducible. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('estimateSimilarity', () => {
  it('recovers a known rotation, scale and translation exactly from noise-free points', () => {
    const truth = similarity(0.37, (23 * Math.PI) / 180, 12.5, -40.25);
    const src: Point[] = [
      [210, 180],
      [305, 176],
      [258, 232],
      [220, 290],
      [298, 287],
    ];
    const dst = src.map((p) => applySimilarity(truth, p));
    const est = estimateSimilarity(src, dst);
    expect(est.a).toBeCloseTo(truth.a, 10);
    expect(est.b).toBeCloseTo(truth.b, 10);
    expect(est.tx).toBeCloseTo(truth.tx, 8);
    expect(est.ty).toBeCloseTo(truth.ty, 8);
  });

  it('recovers a large rotation (170°) without flipping it', () => {
    const truth = similarity(2.5, (170 * Math.PI) / 180, -3, 7);
    const src: Point[] = [
      [0, 0],
      [10, 1],
      [4, 8],
      [-2, 15],
      [9, 14],
    ];
    const est = estimateSimilarity(
      src,
      src.map((p) => applySimilarity(truth, p)),
    );
    expect(Math.atan2(est.b, est.a)).toBeCloseTo((170 * Math.PI) / 180, 10);
    expect(similarityScale(est)).toBeCloseTo(2.5, 10);
  });

  it('never returns a reflection: mirrored targets give a proper rotation with a worse fit', () => {
    const src: Point[] = [
      [0, 0],
      [10, 0],
      [5, 6],
      [1, 12],
      [9, 12],
    ];
    // mirror in x, then a non-symmetric shift so the mirror is not itself a rotation
    const dst = src.map(([x, y]): Point => [-x + 3, y + 0.5 * x]);
    const est = estimateSimilarity(src, dst);
    // determinant of [[a,-b],[b,a]] is a²+b² > 0 by construction: a proper similarity
    expect(est.a * est.a + est.b * est.b).toBeGreaterThan(0);
    const residual = src.reduce((s, p, i) => {
      const q = applySimilarity(est, p);
      return s + (q[0] - dst[i]![0]) ** 2 + (q[1] - dst[i]![1]) ** 2;
    }, 0);
    expect(residual).toBeGreaterThan(1);
  });

  it('is the least-squares optimum under noise: any perturbed transform fits worse', () => {
    const rnd = lcg(42);
    const truth = similarity(0.5, 0.2, 30, 10);
    const src: Point[] = Array.from({ length: 5 }, (): Point => [100 + 200 * rnd(), 100 + 200 * rnd()]);
    const dst = src.map((p): Point => {
      const q = applySimilarity(truth, p);
      return [q[0] + (rnd() - 0.5) * 4, q[1] + (rnd() - 0.5) * 4];
    });
    const sse = (t: ReturnType<typeof estimateSimilarity>) =>
      src.reduce((s, p, i) => {
        const q = applySimilarity(t, p);
        return s + (q[0] - dst[i]![0]) ** 2 + (q[1] - dst[i]![1]) ** 2;
      }, 0);
    const est = estimateSimilarity(src, dst);
    const best = sse(est);
    for (const key of ['a', 'b', 'tx', 'ty'] as const) {
      for (const d of [-1e-3, 1e-3]) {
        expect(sse({ ...est, [key]: est[key] + d })).toBeGreaterThan(best);
      }
    }
  });

  it('maps the template onto itself with the identity', () => {
    const est = estimateSimilarity(ARCFACE_TEMPLATE_112, ARCFACE_TEMPLATE_112);
    expect(est.a).toBeCloseTo(1, 12);
    expect(est.b).toBeCloseTo(0, 12);
    expect(est.tx).toBeCloseTo(0, 10);
    expect(est.ty).toBeCloseTo(0, 10);
  });

  it('refuses coincident points with a coded error', () => {
    const p: Point = [5, 5];
    expect(() => estimateSimilarity([p, p, p, p, p], ARCFACE_TEMPLATE_112)).toThrow(FaceAlignError);
  });

  it('inverts exactly', () => {
    const t = similarity(1.7, -0.6, 4, 9);
    const p: Point = [13, -2];
    const back = applySimilarity(invertSimilarity(t), applySimilarity(t, p));
    expect(back[0]).toBeCloseTo(p[0], 10);
    expect(back[1]).toBeCloseTo(p[1], 10);
  });
});

/** A BGR test image whose channels encode position: B = x, G = y, R = constant 200. */
function gradientImage(width: number, height: number) {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      data[o] = x;
      data[o + 1] = y;
      data[o + 2] = 200;
    }
  }
  return { width, height, data };
}

describe('warpSimilarity', () => {
  it('is the identity for the identity transform', () => {
    const img = gradientImage(20, 16);
    const out = warpSimilarity(img, { a: 1, b: 0, tx: 0, ty: 0 }, 20, 16);
    expect(Buffer.from(out).equals(Buffer.from(img.data))).toBe(true);
  });

  it('translates by a whole pixel and fills uncovered pixels with 0 (border constant)', () => {
    const img = gradientImage(10, 10);
    const out = warpSimilarity(img, { a: 1, b: 0, tx: 2, ty: 1 }, 10, 10);
    // destination (u, v) samples source (u-2, v-1)
    expect([out[(5 * 10 + 7) * 3], out[(5 * 10 + 7) * 3 + 1], out[(5 * 10 + 7) * 3 + 2]]).toEqual([5, 4, 200]);
    expect([out[0], out[1], out[2]]).toEqual([0, 0, 0]);
    expect(out[(0 * 10 + 5) * 3 + 2]).toBe(0); // row 0 maps to source row -1
  });

  it('interpolates bilinearly on a half-pixel shift, fading at the border like cv2.warpAffine', () => {
    const img = gradientImage(10, 10);
    const out = warpSimilarity(img, { a: 1, b: 0, tx: -0.5, ty: 0 }, 10, 10);
    // destination u samples source x = u + 0.5: B = u + 0.5 rounds half up, R stays 200 inside
    expect(out[(3 * 10 + 4) * 3]).toBe(Math.round(4.5));
    expect(out[(3 * 10 + 4) * 3 + 2]).toBe(200);
    // at u = 9 the right neighbour (x = 10) is outside and counts as 0: R = 0.5·200
    expect(out[(3 * 10 + 9) * 3 + 2]).toBe(100);
  });

  it('rotates by 90° about a centre', () => {
    const img = gradientImage(9, 9);
    // rotate +90° about (4,4): x' = -(y-4)+4, y' = (x-4)+4
    const t = { a: 0, b: 1, tx: 8, ty: 0 };
    const out = warpSimilarity(img, t, 9, 9);
    // destination (u=8, v=2) comes from source x = v = 2, y = 8 - u = 0
    const o = (2 * 9 + 8) * 3;
    expect([out[o], out[o + 1]]).toEqual([2, 0]);
  });

  it('matches a per-pixel four-tap reference byte for byte, inside the image and across its border', () => {
    const w = 31;
    const h = 23;
    const rnd = lcg(77);
    const data = Uint8Array.from({ length: w * h * 3 }, () => Math.floor(rnd() * 256));
    const px = (x: number, y: number, c: number) =>
      x >= 0 && y >= 0 && x < w && y < h ? data[(y * w + x) * 3 + c]! : 0;
    for (let k = 0; k < 40; k++) {
      const t = similarity(0.4 + 2 * rnd(), rnd() * 2 * Math.PI, rnd() * 40 - 10, rnd() * 40 - 10);
      const out = warpSimilarity({ width: w, height: h, data }, t, 29, 27);
      const inv = invertSimilarity(t);
      let mismatches = 0;
      for (let v = 0; v < 27; v++) {
        // the same incremental source coordinates as the warp: start of row, then + (a, b) per pixel
        let x = -inv.b * v + inv.tx;
        let y = inv.a * v + inv.ty;
        for (let u = 0; u < 29; u++, x += inv.a, y += inv.b) {
          const x0 = Math.floor(x);
          const y0 = Math.floor(y);
          const fx = x - x0;
          const fy = y - y0;
          for (let c = 0; c < 3; c++) {
            const want = Math.round(
              (1 - fx) * (1 - fy) * px(x0, y0, c) +
                fx * (1 - fy) * px(x0 + 1, y0, c) +
                (1 - fx) * fy * px(x0, y0 + 1, c) +
                fx * fy * px(x0 + 1, y0 + 1, c),
            );
            if (out[(v * 29 + u) * 3 + c] !== want) mismatches++;
          }
        }
      }
      expect(mismatches).toBe(0);
    }
  });

  it('alignFace puts the landmarks of a scaled, rotated synthetic face on the template', () => {
    // draw five bright dots where a face would have them, in a frame rotated by 15° and scaled 2.2×
    const truth = similarity(1 / 2.2, (-15 * Math.PI) / 180, 0, 0);
    const toFrame = invertSimilarity(truth);
    const shift: Point = [140, 90];
    const landmarks = ARCFACE_TEMPLATE_112.map((p): Point => {
      const q = applySimilarity(toFrame, p);
      return [q[0] + shift[0], q[1] + shift[1]];
    }) as [Point, Point, Point, Point, Point];
    const width = 420;
    const height = 360;
    const data = new Uint8Array(width * height * 3);
    for (const [lx, ly] of landmarks) {
      for (let y = Math.round(ly) - 3; y <= Math.round(ly) + 3; y++) {
        for (let x = Math.round(lx) - 3; x <= Math.round(lx) + 3; x++)
          data.fill(255, (y * width + x) * 3, (y * width + x) * 3 + 3);
      }
    }
    const aligned = alignFace({ width, height, data }, landmarks);
    expect(aligned.size).toBe(112);
    expect(aligned.data.length).toBe(112 * 112 * 3);
    for (const [tx, ty] of ARCFACE_TEMPLATE_112) {
      const o = (Math.round(ty) * 112 + Math.round(tx)) * 3;
      expect(aligned.data[o]).toBeGreaterThan(200);
    }
    // a point between the eyes is dark
    const mid = (Math.round(51) * 112 + 56) * 3;
    expect(aligned.data[mid]).toBe(0);
    expect(similarityScale(aligned.transform)).toBeCloseTo(1 / 2.2, 6);
  });
});
