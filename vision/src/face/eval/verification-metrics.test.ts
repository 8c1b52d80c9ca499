import { describe, expect, it } from 'vitest';
import {
  accuracyAt,
  bestAccuracyThreshold,
  leaveOneFoldOutAccuracy,
  MetricsError,
  nextUp,
  type ScoredPair,
  tarAtFar,
  thresholdForFar,
} from './verification-metrics.js';

const g = (score: number, fold = 1): ScoredPair => ({ fold, score, same: true });
const i = (score: number, fold = 1): ScoredPair => ({ fold, score, same: false });

describe('bestAccuracyThreshold', () => {
  it('separates perfectly separable scores at the midpoint of the gap', () => {
    const r = bestAccuracyThreshold([i(0.1), i(0.2), g(0.6), g(0.9)]);
    expect(r.accuracy).toBe(1);
    expect(r.threshold).toBeCloseTo(0.4, 12);
  });

  it('finds the best split with overlap, counting by hand', () => {
    // sorted: i.1 g.3 i.4 g.5 g.7 i.8 → 4 of 6 right at 0.2 or 0.45, the first is kept
    const pairs = [g(0.3), i(0.1), i(0.4), g(0.5), g(0.7), i(0.8)];
    const r = bestAccuracyThreshold(pairs);
    expect(r.accuracy).toBeCloseTo(4 / 6, 12);
    expect(r.threshold).toBeCloseTo(0.2, 12);
    expect(accuracyAt(pairs, r.threshold)).toBeCloseTo(4 / 6, 12);
  });

  it('never splits tied scores', () => {
    const r = bestAccuracyThreshold([i(0.5), g(0.5), g(0.5), i(0.1)]);
    expect(r.accuracy).toBeCloseTo(3 / 4, 12);
    expect(r.threshold).toBeCloseTo(0.3, 12);
  });
});

describe('leaveOneFoldOutAccuracy', () => {
  it('tests each fold at the threshold of the others (2 folds)', () => {
    // fold 1 alone would pick 0.5; fold 2 alone would pick 0.25
    const fold1 = [i(0.4, 1), g(0.6, 1)];
    const fold2 = [i(0.2, 2), g(0.3, 2)];
    const r = leaveOneFoldOutAccuracy([...fold1, ...fold2]);
    expect(r.folds.map((f) => f.fold)).toEqual([1, 2]);
    expect(r.folds[0]!.threshold).toBeCloseTo(0.25, 12); // from fold 2
    expect(r.folds[0]!.accuracy).toBe(0.5); // impostor 0.4 accepted
    expect(r.folds[1]!.threshold).toBeCloseTo(0.5, 12); // from fold 1
    expect(r.folds[1]!.accuracy).toBe(0.5); // genuine 0.3 rejected
    expect(r.meanAccuracy).toBe(0.5);
    expect(r.stdAccuracy).toBe(0);
  });

  it('works with 10 folds and reports the population std', () => {
    const pairs: ScoredPair[] = [];
    for (let f = 1; f <= 10; f++) {
      pairs.push(i(0.1, f), i(0.2, f), g(0.7, f), g(0.8, f));
      // fold 10 carries one impostor above every genuine score: an error at any sane threshold
      if (f === 10) pairs.push(i(0.95, f));
    }
    const r = leaveOneFoldOutAccuracy(pairs);
    expect(r.folds).toHaveLength(10);
    expect(r.folds.slice(0, 9).every((f) => f.accuracy === 1)).toBe(true);
    expect(r.folds[9]!.accuracy).toBeCloseTo(4 / 5, 12);
    const mean = (9 + 0.8) / 10;
    expect(r.meanAccuracy).toBeCloseTo(mean, 12);
    expect(r.stdAccuracy).toBeCloseTo(Math.sqrt((9 * (1 - mean) ** 2 + (0.8 - mean) ** 2) / 10), 12);
  });

  it('refuses a single fold', () => {
    expect(() => leaveOneFoldOutAccuracy([g(0.5), i(0.1)])).toThrow(MetricsError);
  });
});

describe('thresholdForFar and tarAtFar', () => {
  const impostors = Array.from({ length: 600 }, (_, k) => k / 1000); // 0.000 … 0.599

  it('allows floor(FAR·N) false accepts: 6 of 600 at 1e-2', () => {
    const t = thresholdForFar(impostors, 1e-2);
    expect(t.allowedFalseAccepts).toBe(6);
    expect(t.falseAccepts).toBe(6);
    expect(t.threshold).toBe(nextUp(0.593)); // the 7th highest is rejected
    expect(t.resolvable).toBe(true);
  });

  it('flags FAR 1e-3 on 600 impostors as unresolvable (0 false accepts allowed)', () => {
    const t = thresholdForFar(impostors, 1e-3);
    expect(t.allowedFalseAccepts).toBe(0);
    expect(t.falseAccepts).toBe(0);
    expect(t.threshold).toBe(nextUp(0.599));
    expect(t.resolvable).toBe(false);
  });

  it('counts fewer false accepts when the boundary score is tied', () => {
    const t = thresholdForFar([0.9, 0.8, 0.8, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1], 0.2);
    expect(t.allowedFalseAccepts).toBe(2);
    expect(t.falseAccepts).toBe(1);
  });

  it('computes TAR at the FAR threshold', () => {
    const pairs = [...impostors.map((s) => i(s)), g(0.2), g(0.59), g(0.5935), g(0.7)];
    const r = tarAtFar(pairs, 1e-2);
    expect(r.genuineCount).toBe(4);
    expect(r.impostorCount).toBe(600);
    expect(r.tar).toBe(0.5); // 0.5935 and 0.7 are ≥ nextUp(0.593)
  });

  it('rejects a FAR outside (0, 1)', () => {
    expect(() => thresholdForFar([0.1], 0)).toThrow(MetricsError);
    expect(() => thresholdForFar([0.1], 1)).toThrow(MetricsError);
  });

  it('nextUp is the next double', () => {
    expect(nextUp(1)).toBe(1 + Number.EPSILON);
    expect(nextUp(-1)).toBeGreaterThan(-1);
    expect(nextUp(-1) - -1).toBeLessThan(1e-15);
    expect(nextUp(0)).toBe(Number.MIN_VALUE);
  });
});
