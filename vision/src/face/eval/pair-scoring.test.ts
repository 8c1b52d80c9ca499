import { describe, expect, it } from 'vitest';
import type { FaceDetection } from '../../types.js';
import type { FaceTemplate } from '../embed-template.js';
import { median, parsePairsTsv, parseScoresTsv, pickCentralFace, quantile, scorePairs } from './pair-scoring.js';

const face = (x: number, y: number, score: number): FaceDetection => ({
  box: { x, y, w: 40, h: 40 },
  score,
  landmarks: [
    [0, 0],
    [0, 0],
    [0, 0],
    [0, 0],
    [0, 0],
  ],
});

describe('parsePairsTsv', () => {
  it('reads the faces-dev format with its header', () => {
    const rows = parsePairsTsv('fold\timg1\timg2\tsame\n1\ta/a_1.jpg\ta/a_2.jpg\t1\n2\ta/a_1.jpg\tb/b_1.jpg\t0\n');
    expect(rows).toEqual([
      { fold: 1, img1: 'a/a_1.jpg', img2: 'a/a_2.jpg', same: true },
      { fold: 2, img1: 'a/a_1.jpg', img2: 'b/b_1.jpg', same: false },
    ]);
  });

  it('names the bad line', () => {
    expect(() => parsePairsTsv('1\ta\tb\tyes\n')).toThrow(/line 1/);
  });
});

describe('parseScoresTsv', () => {
  it('reads score/same and fold/score/same lines', () => {
    expect(parseScoresTsv('score\tsame\n0.61\t1\n0.02\t0\n')).toEqual([
      { fold: 1, score: 0.61, same: true },
      { fold: 1, score: 0.02, same: false },
    ]);
    expect(parseScoresTsv('3\t0.5\t1\n')).toEqual([{ fold: 3, score: 0.5, same: true }]);
    expect(() => parseScoresTsv('0.5\tmaybe\n')).toThrow(/line 1/);
  });
});

describe('pickCentralFace', () => {
  it('keeps the face nearest the centre among those scoring ≥ 0.5', () => {
    const centre = face(105, 105, 0.6);
    const corner = face(0, 0, 0.99);
    const weakCentre = face(110, 110, 0.4);
    expect(pickCentralFace([corner, weakCentre, centre], 250, 250)).toBe(centre);
    expect(pickCentralFace([weakCentre], 250, 250)).toBeUndefined();
  });
});

describe('scorePairs', () => {
  const t = (v: number[]): FaceTemplate => ({ modelId: 'm', sha256: 's', dim: v.length, vector: Float32Array.from(v) });
  it('scores cosines and gives −1 to pairs with an undetected image', () => {
    const templates = new Map([
      ['a', t([1, 0])],
      ['b', t([0.6, 0.8])],
    ]);
    const r = scorePairs(
      [
        { fold: 1, img1: 'a', img2: 'b', same: true },
        { fold: 1, img1: 'a', img2: 'missing', same: false },
      ],
      (rel) => templates.get(rel) ?? null,
    );
    expect(r.pairs[0]!.score).toBeCloseTo(0.6, 6);
    expect(r.pairs[1]!.score).toBe(-1);
    expect(r.pairsWithMissingFace).toBe(1);
  });
});

describe('quantile', () => {
  it('interpolates linearly like numpy', () => {
    expect(median([3, 1, 2, 10])).toBe(2.5);
    expect(quantile([0, 10], 0.95)).toBeCloseTo(9.5, 12);
    expect(Number.isNaN(median([]))).toBe(true);
  });
});
