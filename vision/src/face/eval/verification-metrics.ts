/**
 * Metrics for 1:1 verification on labelled pairs. Convention everywhere: a pair is accepted when
 * its similarity is ≥ the threshold.
 */

export interface ScoredPair {
  fold: number;
  score: number;
  /** true for a genuine (same person) pair, false for an impostor pair */
  same: boolean;
}

export class MetricsError extends Error {
  constructor(
    readonly code: 'METRICS_ERR_TOO_FEW_FOLDS' | 'METRICS_ERR_EMPTY' | 'METRICS_ERR_BAD_FAR',
    message: string,
  ) {
    super(message);
    this.name = 'MetricsError';
  }
}

export function accuracyAt(pairs: readonly ScoredPair[], threshold: number): number {
  if (pairs.length === 0) throw new MetricsError('METRICS_ERR_EMPTY', 'no pairs');
  let correct = 0;
  for (const p of pairs) if (p.score >= threshold === p.same) correct++;
  return correct / pairs.length;
}

/**
 * The threshold with the best accuracy on `pairs`: a sweep over the sorted scores, trying the
 * midpoint between each pair of neighbouring distinct scores (and the two open ends). The first
 * best is kept, so the result is deterministic.
 */
export function bestAccuracyThreshold(pairs: readonly ScoredPair[]): { threshold: number; accuracy: number } {
  if (pairs.length === 0) throw new MetricsError('METRICS_ERR_EMPTY', 'no pairs');
  const sorted = [...pairs].sort((a, b) => a.score - b.score);
  const genuineTotal = sorted.reduce((n, p) => n + (p.same ? 1 : 0), 0);
  // threshold below everything: all accepted, correct = every genuine pair
  let bestCorrect = genuineTotal;
  let bestThreshold = sorted[0]!.score - 1e-6;
  let impostorsBelow = 0;
  let genuineBelow = 0;
  for (let i = 0; i < sorted.length; i++) {
    if (sorted[i]!.same) genuineBelow++;
    else impostorsBelow++;
    const next = sorted[i + 1];
    if (next && next.score === sorted[i]!.score) continue; // a threshold cannot split equal scores
    const correct = impostorsBelow + (genuineTotal - genuineBelow);
    if (correct > bestCorrect) {
      bestCorrect = correct;
      bestThreshold = next ? (sorted[i]!.score + next.score) / 2 : sorted[i]!.score + 1e-6;
    }
  }
  return { threshold: bestThreshold, accuracy: bestCorrect / sorted.length };
}

export interface FoldResult {
  fold: number;
  /** chosen on every other fold */
  threshold: number;
  /** on this fold */
  accuracy: number;
  pairs: number;
}

/**
 * Leave-one-fold-out accuracy, the LFW protocol: each fold is scored at the threshold that is
 * best on all the other folds. Works for any number of folds ≥ 2 (2 for the dev split, 10 for
 * full View 2).
 */
export function leaveOneFoldOutAccuracy(pairs: readonly ScoredPair[]): {
  meanAccuracy: number;
  /** population standard deviation over folds, as the LFW tables report it */
  stdAccuracy: number;
  folds: FoldResult[];
} {
  const foldIds = [...new Set(pairs.map((p) => p.fold))].sort((a, b) => a - b);
  if (foldIds.length < 2) {
    throw new MetricsError('METRICS_ERR_TOO_FEW_FOLDS', `leave-one-fold-out needs ≥ 2 folds, got ${foldIds.length}`);
  }
  const folds = foldIds.map((fold): FoldResult => {
    const test = pairs.filter((p) => p.fold === fold);
    const { threshold } = bestAccuracyThreshold(pairs.filter((p) => p.fold !== fold));
    return { fold, threshold, accuracy: accuracyAt(test, threshold), pairs: test.length };
  });
  const mean = folds.reduce((s, f) => s + f.accuracy, 0) / folds.length;
  const variance = folds.reduce((s, f) => s + (f.accuracy - mean) ** 2, 0) / folds.length;
  return { meanAccuracy: mean, stdAccuracy: Math.sqrt(variance), folds };
}

/** The smallest double greater than x (Math.nextUp), so "≥ threshold" excludes x itself. */
export function nextUp(x: number): number {
  if (Number.isNaN(x) || x === Infinity) return x;
  if (x === 0) return Number.MIN_VALUE;
  const f = new Float64Array([x]);
  const i = new BigInt64Array(f.buffer);
  i[0] = i[0]! + (x > 0 ? 1n : -1n);
  return f[0]!;
}

export interface FarThreshold {
  far: number;
  /** accept iff score ≥ threshold */
  threshold: number;
  impostorCount: number;
  /** floor(far · impostorCount) */
  allowedFalseAccepts: number;
  /** impostors at or above the threshold (≤ allowed; fewer when scores tie) */
  falseAccepts: number;
  /**
   * false when far · impostorCount < 1: no false accept is allowed, so the threshold only sits
   * just above the highest impostor and says nothing about the rate
   */
  resolvable: boolean;
}

/** The loosest threshold whose false-accept rate on these impostor scores is ≤ `far`. */
export function thresholdForFar(impostorScores: readonly number[], far: number): FarThreshold {
  if (!(far > 0 && far < 1)) throw new MetricsError('METRICS_ERR_BAD_FAR', `FAR must be in (0, 1), got ${far}`);
  const n = impostorScores.length;
  if (n === 0) throw new MetricsError('METRICS_ERR_EMPTY', 'no impostor scores');
  const sorted = [...impostorScores].sort((a, b) => b - a);
  // the epsilon keeps 0.01 · 600 from flooring to 5 through binary rounding
  const allowed = Math.floor(far * n + 1e-9);
  const threshold = allowed >= n ? -Infinity : nextUp(sorted[allowed]!);
  const falseAccepts = sorted.filter((s) => s >= threshold).length;
  return { far, threshold, impostorCount: n, allowedFalseAccepts: allowed, falseAccepts, resolvable: far * n >= 1 };
}

export interface TarAtFar extends FarThreshold {
  /** genuine pairs accepted at the threshold, 0..1 */
  tar: number;
  genuineCount: number;
}

/** True-accept rate at the threshold that holds the false-accept rate to `far`, over all pairs pooled. */
export function tarAtFar(pairs: readonly ScoredPair[], far: number): TarAtFar {
  const impostors = pairs.filter((p) => !p.same).map((p) => p.score);
  const genuine = pairs.filter((p) => p.same).map((p) => p.score);
  if (genuine.length === 0) throw new MetricsError('METRICS_ERR_EMPTY', 'no genuine pairs');
  const t = thresholdForFar(impostors, far);
  const accepted = genuine.filter((s) => s >= t.threshold).length;
  return { ...t, tar: accepted / genuine.length, genuineCount: genuine.length };
}
