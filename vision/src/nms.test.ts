import { describe, expect, it } from 'vitest';
import { iou, nms } from './nms.js';

describe('iou', () => {
  it('is 1/3 for two 10×10 boxes offset by half their width (50 / 150)', () => {
    expect(iou({ x: 0, y: 0, w: 10, h: 10 }, { x: 5, y: 0, w: 10, h: 10 })).toBeCloseTo(1 / 3, 12);
  });
  it('is 25/175 for two 10×10 boxes sharing a 5×5 corner', () => {
    expect(iou({ x: 0, y: 0, w: 10, h: 10 }, { x: 5, y: 5, w: 10, h: 10 })).toBeCloseTo(25 / 175, 12);
  });
  it('is 1 for identical boxes and 0 for disjoint, touching or empty ones', () => {
    const a = { x: 3, y: 4, w: 5, h: 6 };
    expect(iou(a, { ...a })).toBe(1);
    expect(iou(a, { x: 100, y: 100, w: 5, h: 5 })).toBe(0);
    expect(iou(a, { x: 8, y: 4, w: 5, h: 6 })).toBe(0);
    expect(iou(a, { x: 3, y: 4, w: 0, h: 6 })).toBe(0);
  });
});

describe('nms', () => {
  const a = { box: { x: 0, y: 0, w: 10, h: 10 }, score: 0.9, id: 'a' };
  const b = { box: { x: 5, y: 0, w: 10, h: 10 }, score: 0.8, id: 'b' }; // IoU(a,b) = 1/3
  const c = { box: { x: 50, y: 50, w: 10, h: 10 }, score: 0.7, id: 'c' };
  const d = { box: { x: 0, y: 1, w: 10, h: 10 }, score: 0.95, id: 'd' }; // IoU(a,d) = 90/110

  it('drops a box overlapping a better one by more than the threshold and keeps the rest, best first', () => {
    expect(nms([c, b, a], 0.3).map((x) => x.id)).toEqual(['a', 'c']);
  });
  it('keeps overlapping boxes under a looser threshold', () => {
    expect(nms([c, b, a], 0.4).map((x) => x.id)).toEqual(['a', 'b', 'c']);
  });
  it('lets the best box suppress, so a suppressed box does not suppress others', () => {
    // d beats a (IoU 0.82); b overlaps a by 1/3 but d only by (5·9)/(200 − 45) = 0.29: b survives
    expect(nms([a, b, c, d], 0.3).map((x) => x.id)).toEqual(['d', 'b', 'c']);
  });
  it('caps the number kept and does not modify its input', () => {
    const input = [c, b, a];
    expect(nms(input, 0.5, 2).map((x) => x.id)).toEqual(['a', 'b']);
    expect(input.map((x) => x.id)).toEqual(['c', 'b', 'a']);
    expect(nms([], 0.5)).toEqual([]);
  });
});
