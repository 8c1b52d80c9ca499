import type { Box } from '@portail/vision/types.js';

/**
 * Intersection over union of two boxes in continuous pixel coordinates (area = w·h, no "+1"), the
 * convention of the MOTChallenge devkit and py-motmetrics. Degenerate boxes give 0.
 */
export function iou(a: Box, b: Box): number {
  const iw = Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x);
  if (iw <= 0) return 0;
  const ih = Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y);
  if (ih <= 0) return 0;
  const inter = iw * ih;
  const union = a.w * a.h + b.w * b.h - inter;
  return union > 0 ? inter / union : 0;
}

/**
 * Row-major matrix of `1 - IoU` (the cost both the tracker and the metrics minimise), rows = `a`,
 * columns = `b`. Writes into `out` when it is large enough, so per-frame calls need not allocate.
 */
export function iouCostMatrix(a: readonly Box[], b: readonly Box[], out?: Float64Array): Float64Array {
  const size = a.length * b.length;
  const cost = out && out.length >= size ? out.subarray(0, size) : new Float64Array(size);
  for (let i = 0; i < a.length; i++) {
    const boxA = a[i]!;
    for (let j = 0; j < b.length; j++) cost[i * b.length + j] = 1 - iou(boxA, b[j]!);
  }
  return cost;
}
