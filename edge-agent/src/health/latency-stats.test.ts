import { describe, expect, it } from 'vitest';
import { percentile, StageLatencies } from './latency-stats.js';

describe('percentile', () => {
  it('uses the nearest rank', () => {
    const v = [5, 1, 4, 2, 3, 6, 7, 8, 9, 10];
    expect(percentile(v, 50)).toBe(5);
    expect(percentile(v, 95)).toBe(10);
    expect(percentile(v, 10)).toBe(1);
    expect(percentile([], 50)).toBe(0);
  });
});

describe('StageLatencies', () => {
  it('summarises each stage over an interval and starts afresh after drain', () => {
    const s = new StageLatencies();
    for (const ms of [10, 20, 30, 40]) s.record('face', ms);
    s.record('person', 7);
    expect(s.drain()).toEqual({ face: { p50Ms: 20, p95Ms: 40, count: 4 }, person: { p50Ms: 7, p95Ms: 7, count: 1 } });
    expect(s.drain()).toEqual({});
  });
});
