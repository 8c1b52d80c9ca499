import type { Box } from '@portail/vision/types.js';

/**
 * Pure geometry and pixel work of the privacy-safe snapshot: every face is replaced by coarse
 * blocks before the image leaves the server. Boxes are taken generously (a detector's box is the
 * face oval; hair, ears and the chin identify too, and a box that jitters must still cover), and a
 * person's head region is blurred as well, which also covers faces too small or too turned for the
 * face detector.
 */

export interface PixelImage {
  width: number;
  height: number;
  /** packed 3-channel pixels (RGB or BGR: the channels are averaged alike) */
  data: Uint8Array;
}

/** Integer box clamped to the image; null when nothing of it is inside. */
export function clampBox(b: Box, width: number, height: number): Box | null {
  const x0 = Math.max(0, Math.floor(b.x));
  const y0 = Math.max(0, Math.floor(b.y));
  const x1 = Math.min(width, Math.ceil(b.x + b.w));
  const y1 = Math.min(height, Math.ceil(b.y + b.h));
  if (x1 <= x0 || y1 <= y0) return null;
  return { x: x0, y: y0, w: x1 - x0, h: y1 - y0 };
}

export interface FaceMaskOptions {
  /** width of the mask over the face box's width (default 1.6) */
  widthScale: number;
  /** height of the mask over the face box's height (default 1.9: forehead and hair above, chin below) */
  heightScale: number;
}

export const DEFAULT_FACE_MASK: Readonly<FaceMaskOptions> = Object.freeze({ widthScale: 1.6, heightScale: 1.9 });

/** The region to pixelate for a detected face box: centred horizontally, extended more upwards. */
export function faceMaskBox(
  face: Box,
  width: number,
  height: number,
  o: FaceMaskOptions = DEFAULT_FACE_MASK,
): Box | null {
  const w = face.w * o.widthScale;
  const h = face.h * o.heightScale;
  const cx = face.x + face.w / 2;
  // 60 % of the extra height above the box, 40 % below
  const top = face.y - (h - face.h) * 0.6;
  return clampBox({ x: cx - w / 2, y: top, w, h }, width, height);
}

/** The head region of a detected person: the top 30 % of the box, its full width plus a margin. */
export function personHeadBox(person: Box, width: number, height: number): Box | null {
  const margin = person.w * 0.1;
  return clampBox(
    { x: person.x - margin, y: person.y - person.h * 0.05, w: person.w + 2 * margin, h: person.h * 0.35 },
    width,
    height,
  );
}

/** Block side for a region: a fifth of its shorter side, at least 8 px, so a face keeps no feature. */
export function blockSizeFor(region: Box): number {
  return Math.max(8, Math.round(Math.min(region.w, region.h) / 5));
}

/** Replace `region` (already clamped) with blocks of `blockPx`, each the mean of its pixels. In place. */
export function pixelateRegion(img: PixelImage, region: Box, blockPx = blockSizeFor(region)): void {
  const { width, data } = img;
  const x1 = region.x + region.w;
  const y1 = region.y + region.h;
  for (let by = region.y; by < y1; by += blockPx) {
    const bh = Math.min(blockPx, y1 - by);
    for (let bx = region.x; bx < x1; bx += blockPx) {
      const bw = Math.min(blockPx, x1 - bx);
      let c0 = 0;
      let c1 = 0;
      let c2 = 0;
      for (let y = by; y < by + bh; y++) {
        let i = (y * width + bx) * 3;
        for (let x = 0; x < bw; x++, i += 3) {
          c0 += data[i]!;
          c1 += data[i + 1]!;
          c2 += data[i + 2]!;
        }
      }
      const n = bw * bh;
      const m0 = Math.round(c0 / n);
      const m1 = Math.round(c1 / n);
      const m2 = Math.round(c2 / n);
      for (let y = by; y < by + bh; y++) {
        let i = (y * width + bx) * 3;
        for (let x = 0; x < bw; x++, i += 3) {
          data[i] = m0;
          data[i + 1] = m1;
          data[i + 2] = m2;
        }
      }
    }
  }
}

/** Pixelate every face (generous masks) and every person's head region; returns the regions done. */
export function pixelateFacesAndHeads(
  img: PixelImage,
  faces: readonly Box[],
  persons: readonly Box[] = [],
  o: FaceMaskOptions = DEFAULT_FACE_MASK,
): Box[] {
  const regions: Box[] = [];
  for (const f of faces) {
    const r = faceMaskBox(f, img.width, img.height, o);
    if (r) regions.push(r);
  }
  for (const p of persons) {
    const r = personHeadBox(p, img.width, img.height);
    if (r) regions.push(r);
  }
  for (const r of regions) pixelateRegion(img, r);
  return regions;
}
