import type { Box, Frame } from '@portail/vision/types.js';

/**
 * Copy a region of a BGR24 frame into an RGBA buffer (what the QR decoders take). Reuses `out`
 * when it is large enough, so a camera loop does not allocate per frame.
 */
export function bgrRegionToRgba(frame: Frame, roi: Box | undefined, out?: Uint8ClampedArray): { data: Uint8ClampedArray; width: number; height: number } {
  const x0 = Math.max(0, Math.floor(roi?.x ?? 0));
  const y0 = Math.max(0, Math.floor(roi?.y ?? 0));
  const x1 = Math.min(frame.width, Math.ceil(roi ? roi.x + roi.w : frame.width));
  const y1 = Math.min(frame.height, Math.ceil(roi ? roi.y + roi.h : frame.height));
  const width = Math.max(0, x1 - x0);
  const height = Math.max(0, y1 - y0);
  const need = width * height * 4;
  const data = out && out.length >= need ? out.subarray(0, need) : new Uint8ClampedArray(need);
  const src = frame.data;
  let o = 0;
  for (let y = y0; y < y1; y++) {
    let i = (y * frame.width + x0) * 3;
    for (let x = x0; x < x1; x++, i += 3) {
      data[o++] = src[i + 2]!;
      data[o++] = src[i + 1]!;
      data[o++] = src[i]!;
      data[o++] = 255;
    }
  }
  return { data, width, height };
}
