/**
 * Pure parsers of what ffmpeg writes on its stdout for the server's grabs:
 * - a stream of binary PPM images (`-f image2pipe -c:v ppm`): header `P6 <w> <h> <maxval>` then RGB24;
 * - an MJPEG stream (`-f mjpeg`): concatenated JPEG files, SOI (FF D8) … EOI (FF D9).
 * Both keep the unfinished tail for the next chunk.
 */

export interface RgbImage {
  width: number;
  height: number;
  /** packed RGB24 */
  data: Uint8Array;
}

export class PpmParseError extends Error {
  readonly code = 'CAMERA_ERR_PPM';
  constructor(message: string) {
    super(message);
    this.name = 'PpmParseError';
  }
}

const isSpace = (b: number) => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;

/** Header of the PPM at `buf[0..]`: null when incomplete. Throws on a non-PPM or unsupported one. */
export function parsePpmHeader(buf: Uint8Array): { width: number; height: number; headerBytes: number } | null {
  if (buf.length < 2) return null;
  if (buf[0] !== 0x50 || buf[1] !== 0x36) throw new PpmParseError('not a binary PPM (P6)');
  const fields: number[] = [];
  let i = 2;
  while (fields.length < 3) {
    while (i < buf.length && (isSpace(buf[i]!) || buf[i] === 0x23)) {
      // comments run to the end of the line
      if (buf[i] === 0x23) while (i < buf.length && buf[i] !== 0x0a) i++;
      else i++;
    }
    if (i >= buf.length) return null;
    let n = 0;
    let digits = 0;
    while (i < buf.length && buf[i]! >= 0x30 && buf[i]! <= 0x39) {
      n = n * 10 + (buf[i]! - 0x30);
      i++;
      digits++;
      if (digits > 6) throw new PpmParseError('PPM header field too long');
    }
    if (i >= buf.length) return null;
    if (digits === 0) throw new PpmParseError('malformed PPM header');
    fields.push(n);
  }
  // exactly one whitespace byte separates the header from the pixels
  if (!isSpace(buf[i]!)) throw new PpmParseError('malformed PPM header');
  const [width, height, maxval] = fields as [number, number, number];
  if (maxval !== 255) throw new PpmParseError(`PPM maxval ${maxval}: only 8-bit images are supported`);
  if (width < 1 || height < 1 || width > 8192 || height > 8192) throw new PpmParseError(`PPM of ${width}×${height}`);
  return { width, height, headerBytes: i + 1 };
}

/** Complete images at the start of `buf`, and the bytes left over (an incomplete image). */
export function splitPpmStream(buf: Uint8Array): { images: RgbImage[]; rest: Uint8Array } {
  const images: RgbImage[] = [];
  let off = 0;
  for (;;) {
    const head = parsePpmHeader(buf.subarray(off));
    if (!head) break;
    const size = head.width * head.height * 3;
    if (buf.length - off - head.headerBytes < size) break;
    const start = off + head.headerBytes;
    images.push({ width: head.width, height: head.height, data: buf.slice(start, start + size) });
    off = start + size;
  }
  return { images, rest: buf.subarray(off) };
}

/**
 * Complete JPEG files at the start of `buf`. ffmpeg's MJPEG muxer writes baseline JPEGs without
 * embedded thumbnails, so the first EOI after an SOI ends the image (inside entropy-coded data a
 * 0xFF byte is always followed by 0x00 or a restart marker, never 0xD9).
 */
export function splitJpegStream(buf: Uint8Array): { jpegs: Uint8Array[]; rest: Uint8Array } {
  const jpegs: Uint8Array[] = [];
  let off = 0;
  for (;;) {
    // resynchronise on the next SOI (bytes before it cannot belong to an image)
    let soi = -1;
    for (let i = off; i + 1 < buf.length; i++) {
      if (buf[i] === 0xff && buf[i + 1] === 0xd8) {
        soi = i;
        break;
      }
    }
    if (soi < 0)
      return {
        jpegs,
        rest: buf.length > 0 && buf[buf.length - 1] === 0xff ? buf.subarray(buf.length - 1) : buf.subarray(buf.length),
      };
    let eoi = -1;
    for (let i = soi + 2; i + 1 < buf.length; i++) {
      if (buf[i] === 0xff && buf[i + 1] === 0xd9) {
        eoi = i;
        break;
      }
    }
    if (eoi < 0) return { jpegs, rest: buf.subarray(soi) };
    jpegs.push(buf.slice(soi, eoi + 2));
    off = eoi + 2;
  }
}
