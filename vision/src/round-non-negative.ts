/**
 * `Math.round(x)` for a finite x in [0, 2³¹ − 1), the weighted pixel sums of the resampling loops.
 * It returns the same integer (ties up, as Math.round) but costs about a third less in those loops
 * on the edge box, where it runs tens of thousands of times per face.
 *
 * Why it is exact: F = Math.round(x) = ⌊x + 0.5⌋. The sum x + 0.5 may round up, but never past
 * F + 1, so r ∈ {F, F + 1}; r = F + 1 exactly when x + 0.5 < r, a test done without rounding since
 * r − 0.5 is representable. (A plain `(x + 0.5) | 0` is wrong for x = 0.49999999999999994.)
 */
export function roundNonNegative(x: number): number {
  const r = (x + 0.5) | 0;
  return r - 0.5 > x ? r - 1 : r;
}
