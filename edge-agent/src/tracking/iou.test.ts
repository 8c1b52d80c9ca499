import { describe, expect, it } from 'vitest';
import { iou, iouCostMatrix } from './iou.js';

describe('iou', () => {
  it('computes overlap in continuous coordinates', () => {
    expect(iou({ x: 0, y: 0, w: 10, h: 10 }, { x: 0, y: 0, w: 10, h: 10 })).toBe(1);
    // 5x10 overlap, union 150
    expect(iou({ x: 0, y: 0, w: 10, h: 10 }, { x: 5, y: 0, w: 10, h: 10 })).toBeCloseTo(50 / 150, 12);
    expect(iou({ x: 0, y: 0, w: 10, h: 10 }, { x: 2, y: 2, w: 4, h: 4 })).toBeCloseTo(16 / 100, 12);
  });

  it('is 0 for touching, disjoint or empty boxes', () => {
    expect(iou({ x: 0, y: 0, w: 10, h: 10 }, { x: 10, y: 0, w: 10, h: 10 })).toBe(0);
    expect(iou({ x: 0, y: 0, w: 10, h: 10 }, { x: 0, y: 20, w: 10, h: 10 })).toBe(0);
    expect(iou({ x: 0, y: 0, w: 0, h: 0 }, { x: 0, y: 0, w: 0, h: 0 })).toBe(0);
  });

  it('fills a row-major 1 - IoU matrix, reusing a buffer', () => {
    const a = [
      { x: 0, y: 0, w: 10, h: 10 },
      { x: 100, y: 0, w: 10, h: 10 },
    ];
    const b = [
      { x: 0, y: 0, w: 10, h: 10 },
      { x: 5, y: 0, w: 10, h: 10 },
      { x: 100, y: 0, w: 10, h: 10 },
    ];
    const buf = new Float64Array(16);
    const m = iouCostMatrix(a, b, buf);
    expect(m.buffer).toBe(buf.buffer);
    expect([...m].map((v) => Math.round(v * 1000) / 1000)).toEqual([0, 0.667, 1, 1, 1, 0]);
  });
});
