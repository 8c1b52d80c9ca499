import { describe, expect, it } from 'vitest';
import { DEFAULT_LIVENESS_THRESHOLD, fuseLiveness, livenessCropRect, livenessInput, softmax } from './liveness.js';

describe('livenessCropRect (upstream _get_new_box)', () => {
  it('scales the box about its centre and shifts it down when it overflows the top', () => {
    // s = min(479/120, 639/100, 2.7) = 2.7 → 270×324 about (150,160): y0 = −2 → shifted to 0
    expect(livenessCropRect(640, 480, { x: 100, y: 100, w: 100, h: 120 }, 2.7)).toEqual({
      x0: 15,
      y0: 0,
      x1: 285,
      y1: 324,
    });
  });

  it('caps the scale to what fits in the frame (4.0 → 479/120) and shifts on both axes', () => {
    expect(livenessCropRect(640, 480, { x: 100, y: 100, w: 100, h: 120 }, 4.0)).toEqual({
      x0: 0,
      y0: 0,
      x1: 399,
      y1: 479,
    });
  });

  it('shifts back left when the crop passes the right edge', () => {
    // w = 162 about x = 590 → [509, 671] → shifted by 32 → [477, 639]
    const r = livenessCropRect(640, 480, { x: 560, y: 200, w: 60, h: 60 }, 2.7);
    expect(r.x0).toBe(477);
    expect(r.x1).toBe(639);
    expect(r.y1 - r.y0).toBe(162);
  });
});

function frameFrom(width: number, height: number, px: (x: number, y: number) => [number, number, number]) {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.set(px(x, y), (y * width + x) * 3);
  return { width, height, data };
}

describe('livenessInput', () => {
  it('copies an 80×80 crop exactly, as NCHW BGR in raw 0..255', () => {
    const f = frameFrom(100, 90, (x, y) => [x, y, 7]);
    const t = livenessInput(f, { x0: 10, y0: 5, x1: 89, y1: 84 });
    expect(t.length).toBe(3 * 80 * 80);
    expect(t[0]).toBe(10); // B plane, (0,0) ← x 10
    expect(t[80 * 80 + 0]).toBe(5); // G plane ← y 5
    expect(t[2 * 80 * 80 + 0]).toBe(7); // R plane
    expect(t[79 * 80 + 79]).toBe(89);
    expect(t[80 * 80 + 79 * 80 + 79]).toBe(84);
  });

  it('halves a 160×160 crop by averaging 2×2 blocks (half-pixel centres, like cv2.resize)', () => {
    const f = frameFrom(160, 160, (x, y) => [(x % 2) * 100 + (y % 2) * 50, 0, 0]);
    const t = livenessInput(f, { x0: 0, y0: 0, x1: 159, y1: 159 });
    // each block holds 0, 100, 50, 150 → 75
    expect(t[0]).toBe(75);
    expect(t[40 * 80 + 40]).toBe(75);
  });

  it('clamps at the crop edge when upscaling instead of reading outside it', () => {
    const f = frameFrom(60, 60, (x) => [x < 30 ? 0 : 200, 0, 0]);
    // crop [30..49]: all 200, the 0s to its left must not bleed in
    const t = livenessInput(f, { x0: 30, y0: 0, x1: 49, y1: 19 });
    expect(Math.min(...Array.from(t.subarray(0, 80 * 80)))).toBe(200);
  });
});

describe('livenessInput against a per-pixel cv2 INTER_LINEAR reference', () => {
  it('gives the same values on random crops, downscaled and upscaled', () => {
    let seed = 31337;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    const f = frameFrom(97, 71, () => [Math.floor(rnd() * 256), Math.floor(rnd() * 256), Math.floor(rnd() * 256)]);
    const size = 80;
    for (let k = 0; k < 12; k++) {
      const x0 = Math.floor(rnd() * 60);
      const y0 = Math.floor(rnd() * 40);
      const rect = {
        x0,
        y0,
        x1: x0 + 5 + Math.floor(rnd() * (96 - x0 - 5)),
        y1: y0 + 5 + Math.floor(rnd() * (70 - y0 - 5)),
      };
      const t = livenessInput(f, rect, size);
      const cw = rect.x1 - rect.x0 + 1;
      const ch = rect.y1 - rect.y0 + 1;
      // half-pixel centres, clamped to the crop; the x weight is kept in float32, as it always was
      const tap = (d: number, scale: number, n: number): [number, number, number] => {
        const s = (d + 0.5) * scale - 0.5;
        let i = Math.floor(s);
        let frac = s - i;
        if (i < 0) [i, frac] = [0, 0];
        if (i >= n - 1) [i, frac] = [n - 1, 0];
        return [i, Math.min(i + 1, n - 1), frac];
      };
      let mismatches = 0;
      for (let v = 0; v < size; v++) {
        const [ya, yb, fy] = tap(v, ch / size, ch);
        for (let u = 0; u < size; u++) {
          const [xa, xb, fxRaw] = tap(u, cw / size, cw);
          const fx = Math.fround(fxRaw);
          for (let c = 0; c < 3; c++) {
            const p = (x: number, y: number) => f.data[((rect.y0 + y) * f.width + rect.x0 + x) * 3 + c]!;
            const top = p(xa, ya) * (1 - fx) + p(xb, ya) * fx;
            const bottom = p(xa, yb) * (1 - fx) + p(xb, yb) * fx;
            if (t[c * size * size + v * size + u] !== Math.round(top * (1 - fy) + bottom * fy)) mismatches++;
          }
        }
      }
      expect(mismatches).toBe(0);
    }
  });
});

describe('fuseLiveness', () => {
  it('averages P(real) over the models and keeps the upstream argmax label', () => {
    const r = fuseLiveness(
      [
        { model: 'v2', probs: softmax([0, 3, 0]) },
        { model: 'v1se', probs: [0.2, 0.3, 0.5] },
      ],
      DEFAULT_LIVENESS_THRESHOLD,
    );
    const p1 = Math.exp(3) / (Math.exp(3) + 2);
    expect(r.realScore).toBeCloseTo((p1 + 0.3) / 2, 12);
    expect(r.label).toBe(1);
    expect(r.live).toBe(r.realScore >= 0.5);
  });

  it('flags a spoof below the threshold', () => {
    const r = fuseLiveness(
      [
        { model: 'v2', probs: [0.1, 0.2, 0.7] },
        { model: 'v1se', probs: [0.1, 0.3, 0.6] },
      ],
      0.5,
    );
    expect(r.realScore).toBeCloseTo(0.25, 12);
    expect(r.live).toBe(false);
    expect(r.label).toBe(2);
  });

  it('softmax is stable for large logits and sums to 1', () => {
    const p = softmax([1000, 1001, 999]);
    expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(p[1]).toBeGreaterThan(p[0]!);
  });
});
