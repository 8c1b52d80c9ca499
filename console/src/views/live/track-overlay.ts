import type { Tracks } from '@portail/protocol';

/**
 * What the camera tile draws over the snapshot, as plain data (pure, tested in node): the declared
 * zones and directed lines, and the recent anonymous trails as segments fading with age. All in
 * frame pixels: the SVG's viewBox is the frame, so it scales with the tile.
 */

export interface Segment {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
  /** 1 for the newest, fading to `MIN_OPACITY` at the end of the window */
  opacity: number;
}

export interface TrailShape {
  id: string;
  segments: Segment[];
  /** the newest point, marked with a dot */
  head: { x: number; y: number; opacity: number };
}

export interface LineShape {
  id: string;
  x1: number;
  y1: number;
  x2: number;
  y2: number;
  /** arrows across the line, pointing the allowed way(s): [tail x, tail y, tip x, tip y] */
  arrows: Array<[number, number, number, number]>;
  allowedDirection: 'in' | 'out' | 'both';
}

export interface ZoneShape {
  id: string;
  points: string;
  /** where its label goes: the polygon's vertex average */
  label: { x: number; y: number };
}

export interface Overlay {
  width: number;
  height: number;
  zones: ZoneShape[];
  lines: LineShape[];
  trails: TrailShape[];
}

export const MIN_OPACITY = 0.08;
/** Trails older than this after arrival are not drawn at all (the agent stopped sending). */
export const STALE_AFTER_MS = 15_000;

/** Opacity of a point `ageMs` old in a window of `windowMs`: linear from 1 down to MIN_OPACITY. */
export function opacityOf(ageMs: number, windowMs: number): number {
  if (windowMs <= 0) return 1;
  const f = 1 - Math.min(1, Math.max(0, ageMs) / windowMs);
  return Math.round((MIN_OPACITY + (1 - MIN_OPACITY) * f) * 1000) / 1000;
}

/**
 * "in" is from the left-hand side to the right-hand side of from→to as seen in the image (y down):
 * the right-hand normal of (dx, dy) is (-dy, dx).
 */
export function lineArrows(
  from: readonly [number, number],
  to: readonly [number, number],
  allowed: 'in' | 'out' | 'both',
  lengthPx: number,
): Array<[number, number, number, number]> {
  const dx = to[0] - from[0];
  const dy = to[1] - from[1];
  const len = Math.hypot(dx, dy) || 1;
  const nx = (-dy / len) * lengthPx;
  const ny = (dx / len) * lengthPx;
  const mx = (from[0] + to[0]) / 2;
  const my = (from[1] + to[1]) / 2;
  const inArrow: [number, number, number, number] = [mx - nx, my - ny, mx + nx, my + ny];
  const outArrow: [number, number, number, number] = [mx + nx, my + ny, mx - nx, my - ny];
  return allowed === 'in' ? [inArrow] : allowed === 'out' ? [outArrow] : [inArrow, outArrow];
}

/**
 * The overlay of one camera. `elapsedMs` is how long ago the trails arrived (they age in the tile
 * between two messages); past STALE_AFTER_MS nothing of them is drawn.
 */
export function buildOverlay(t: Tracks, elapsedMs: number, fallback?: { width: number; height: number }): Overlay {
  const width = t.frame.width || fallback?.width || 640;
  const height = t.frame.height || fallback?.height || 360;
  const arrowPx = Math.max(12, Math.round(Math.min(width, height) / 18));
  const zones: ZoneShape[] = t.rules.zones.map((z) => ({
    id: z.id,
    points: z.polygon.map(([x, y]) => `${x},${y}`).join(' '),
    label: {
      x: z.polygon.reduce((s, p) => s + p[0], 0) / z.polygon.length,
      y: z.polygon.reduce((s, p) => s + p[1], 0) / z.polygon.length,
    },
  }));
  const lines: LineShape[] = t.rules.lines.map((l) => ({
    id: l.id,
    x1: l.from[0],
    y1: l.from[1],
    x2: l.to[0],
    y2: l.to[1],
    arrows: lineArrows(l.from, l.to, l.allowedDirection, arrowPx),
    allowedDirection: l.allowedDirection,
  }));
  const trails: TrailShape[] =
    elapsedMs > STALE_AFTER_MS
      ? []
      : t.tracks.flatMap((tr) => {
          const pts = tr.points.map(([x, y, age]) => ({ x, y, age: age + Math.max(0, elapsedMs) }));
          const visible = pts.filter((p) => p.age <= t.windowMs);
          const last = visible.at(-1);
          if (!last) return [];
          const segments: Segment[] = [];
          for (let i = 1; i < visible.length; i++) {
            const a = visible[i - 1]!;
            const b = visible[i]!;
            segments.push({ x1: a.x, y1: a.y, x2: b.x, y2: b.y, opacity: opacityOf(b.age, t.windowMs) });
          }
          return [{ id: tr.id, segments, head: { x: last.x, y: last.y, opacity: opacityOf(last.age, t.windowMs) } }];
        });
  return { width, height, zones, lines, trails };
}
