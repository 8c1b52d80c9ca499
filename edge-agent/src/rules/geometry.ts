import type { Box, Point } from '@portail/vision/types.js';

/** Where a person stands: bottom-centre of the box (the ground contact, unlike the box centre). */
export function footPoint(box: Box): Point {
  return [box.x + box.w / 2, box.y + box.h];
}

/** Even-odd ray casting; works for concave polygons. Points exactly on an edge may go either way. */
export function pointInPolygon(p: Point, polygon: readonly Point[]): boolean {
  const [px, py] = p;
  let inside = false;
  for (let i = 0, j = polygon.length - 1; i < polygon.length; j = i++) {
    const [xi, yi] = polygon[i]!;
    const [xj, yj] = polygon[j]!;
    if (yi > py !== yj > py && px < ((xj - xi) * (py - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/** Distance from `p` to the segment a-b. */
export function distanceToSegment(p: Point, a: Point, b: Point): number {
  const dx = b[0] - a[0];
  const dy = b[1] - a[1];
  const len2 = dx * dx + dy * dy;
  const t = len2 > 0 ? Math.min(1, Math.max(0, ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / len2)) : 0;
  return Math.hypot(p[0] - (a[0] + t * dx), p[1] - (a[1] + t * dy));
}

/** Distance from `p` to the nearest edge of the polygon. */
export function distanceToPolygonEdge(p: Point, polygon: readonly Point[]): number {
  let best = Infinity;
  for (let i = 0, j = polygon.length - 1; i < polygon.length; j = i++) {
    best = Math.min(best, distanceToSegment(p, polygon[j]!, polygon[i]!));
  }
  return best;
}

/**
 * Signed distance from `p` to the infinite line from→to. Positive on the right-hand side of the
 * direction from→to as seen on the image (y grows downwards), negative on the left.
 */
export function signedDistanceToLine(p: Point, from: Point, to: Point): number {
  const dx = to[0] - from[0];
  const dy = to[1] - from[1];
  return (dx * (p[1] - from[1]) - dy * (p[0] - from[0])) / Math.hypot(dx, dy);
}

/**
 * For a move p→q that changes sides of the line from→to, the position of the crossing point along
 * from→to: 0 at `from`, 1 at `to`; outside [0, 1] the move passed beside the segment.
 */
export function crossingPositionOnLine(p: Point, q: Point, from: Point, to: Point): number {
  const dp = signedDistanceToLine(p, from, to);
  const dq = signedDistanceToLine(q, from, to);
  const t = dp / (dp - dq);
  const x = p[0] + t * (q[0] - p[0]);
  const y = p[1] + t * (q[1] - p[1]);
  const dx = to[0] - from[0];
  const dy = to[1] - from[1];
  return ((x - from[0]) * dx + (y - from[1]) * dy) / (dx * dx + dy * dy);
}
