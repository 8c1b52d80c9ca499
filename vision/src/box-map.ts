import type { Box, Point } from './types.js';

/**
 * How model-input coordinates map back to frame coordinates:
 * `frameX = (inputX − offsetX) · scaleX`, and the same for y. A letterbox at the top-left has offset 0;
 * a centred one has the padding as offset. Scales are per axis because the resized size is rounded.
 */
export interface BoxMap {
  offsetX: number;
  offsetY: number;
  scaleX: number;
  scaleY: number;
}

export const IDENTITY_MAP: BoxMap = { offsetX: 0, offsetY: 0, scaleX: 1, scaleY: 1 };

export function mapPoint(m: BoxMap, x: number, y: number): Point {
  return [(x - m.offsetX) * m.scaleX, (y - m.offsetY) * m.scaleY];
}

/** Map a box given by its corners in input coordinates to a frame box. */
export function mapCorners(m: BoxMap, x1: number, y1: number, x2: number, y2: number): Box {
  return {
    x: (x1 - m.offsetX) * m.scaleX,
    y: (y1 - m.offsetY) * m.scaleY,
    w: (x2 - x1) * m.scaleX,
    h: (y2 - y1) * m.scaleY,
  };
}

/** Clip a box to the frame [0,width]×[0,height]; a box entirely outside becomes empty (w or h 0). */
export function clipBox(b: Box, width: number, height: number): Box {
  const x1 = Math.min(Math.max(b.x, 0), width);
  const y1 = Math.min(Math.max(b.y, 0), height);
  const x2 = Math.min(Math.max(b.x + b.w, 0), width);
  const y2 = Math.min(Math.max(b.y + b.h, 0), height);
  return { x: x1, y: y1, w: x2 - x1, h: y2 - y1 };
}
