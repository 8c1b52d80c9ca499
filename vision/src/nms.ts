import type { Box } from './types.js';

/** Intersection over union of two boxes; 0 when either is empty. */
export function iou(a: Box, b: Box): number {
  const ix = Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x);
  const iy = Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y);
  if (ix <= 0 || iy <= 0) return 0;
  const inter = ix * iy;
  const union = a.w * a.h + b.w * b.h - inter;
  return union > 0 ? inter / union : 0;
}

/**
 * Greedy non-maximum suppression: visit detections by decreasing score and keep one unless it
 * overlaps an already kept one by IoU > iouThreshold (the rule of OpenCV NMSBoxes). Returns the
 * kept detections, best first. The input array is not modified.
 */
export function nms<T extends { box: Box; score: number }>(
  detections: readonly T[],
  iouThreshold: number,
  maxDetections = Number.POSITIVE_INFINITY,
): T[] {
  const order = [...detections].sort((p, q) => q.score - p.score);
  const kept: T[] = [];
  for (const d of order) {
    if (kept.length >= maxDetections) break;
    let suppressed = false;
    for (const k of kept) {
      if (iou(d.box, k.box) > iouThreshold) {
        suppressed = true;
        break;
      }
    }
    if (!suppressed) kept.push(d);
  }
  return kept;
}
