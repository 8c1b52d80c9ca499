import { describe, expect, it } from 'vitest';
import { roundNonNegative } from './round-non-negative.js';

describe('roundNonNegative', () => {
  it('matches Math.round on ties, near-ties and the value where x + 0.5 rounds up', () => {
    const values = [
      0,
      Number.MIN_VALUE,
      0.49999999999999994, // x + 0.5 rounds to 1 in float64; Math.round gives 0
      0.5,
      0.5000000000000001,
      1 - 2 ** -53,
      1.4999999999999998,
      1.5,
      2.5,
      3.4999999999999996,
      127.49999999999999,
      127.5,
      254.49999999999997,
      254.5,
      255,
      2 ** 30 + 0.5,
    ];
    for (const x of values) expect([x, roundNonNegative(x)]).toEqual([x, Math.round(x)]);
  });

  it('matches Math.round on a dense sweep of pixel-range values and their neighbours', () => {
    let mismatches = 0;
    let seed = 99;
    for (let i = 0; i < 200_000; i++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      const half = (seed % 512) / 2; // 0, 0.5, …, 255.5
      for (const x of [half, half - Number.EPSILON * half, half + Number.EPSILON * half, (seed / 2 ** 32) * 256]) {
        if (x >= 0 && roundNonNegative(x) !== Math.round(x)) mismatches++;
      }
    }
    expect(mismatches).toBe(0);
  });
});
