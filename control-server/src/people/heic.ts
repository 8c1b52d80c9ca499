import decodeHeic from 'heic-decode';
import sharp from 'sharp';

/**
 * HEIC (phones' default photo format) for enrolment. sharp's prebuilt libvips reads HEIF only for
 * AVIF (no HEVC decoder: `sharp.format.heif.input.fileSuffix` is `['.avif']`), so HEIC goes through
 * `heic-decode` (libheif compiled to WebAssembly, maintained), in memory: the decoded pixels are
 * re-encoded to a lossless PNG buffer that the usual JPEG/PNG path then reads, and zeroed.
 */

/** ISO-BMFF major brands of HEIC/HEIF stills (not `avif`, which sharp reads itself). */
const HEIC_BRANDS = new Set(['heic', 'heix', 'hevc', 'hevx', 'mif1', 'msf1']);

/** Pure: an ISO-BMFF `ftyp` box at the start with a HEIC major brand. */
export function isHeic(bytes: Uint8Array): boolean {
  if (bytes.length < 12) return false;
  const ascii = (from: number, to: number) => String.fromCharCode(...bytes.subarray(from, to));
  return ascii(4, 8) === 'ftyp' && HEIC_BRANDS.has(ascii(8, 12));
}

export type HeicDecodeResult =
  | { ok: true; png: Buffer; width: number; height: number }
  | { ok: false; reason: 'corrupt' | 'dimensions'; message: string; width?: number; height?: number };

/**
 * The first image of a HEIC file as a PNG buffer. `acceptSize` is asked before any pixel is
 * decoded (a 100-megapixel bomb is refused from its header).
 */
export async function heicToPng(
  bytes: Uint8Array,
  acceptSize: (width: number, height: number) => boolean,
): Promise<HeicDecodeResult> {
  let images: Awaited<ReturnType<typeof decodeHeic.all>>;
  try {
    images = await decodeHeic.all({ buffer: bytes });
  } catch (err) {
    return { ok: false, reason: 'corrupt', message: (err as Error).message };
  }
  let rgba: Uint8ClampedArray | undefined;
  try {
    const first = images[0]!;
    if (!acceptSize(first.width, first.height)) {
      return {
        ok: false,
        reason: 'dimensions',
        message: `${first.width}×${first.height}`,
        width: first.width,
        height: first.height,
      };
    }
    let decoded: { width: number; height: number; data: Uint8ClampedArray };
    try {
      decoded = await first.decode();
    } catch (err) {
      return { ok: false, reason: 'corrupt', message: (err as Error).message };
    }
    rgba = decoded.data;
    const png = await sharp(Buffer.from(rgba.buffer, rgba.byteOffset, rgba.byteLength), {
      raw: { width: decoded.width, height: decoded.height, channels: 4 },
    })
      .png({ compressionLevel: 1 })
      .toBuffer();
    return { ok: true, png, width: decoded.width, height: decoded.height };
  } finally {
    rgba?.fill(0);
    images.dispose();
  }
}
