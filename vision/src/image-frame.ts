import sharp from 'sharp';
import type { Frame } from './types.js';
import { VisionError } from './vision-error.js';

/**
 * Decode an image file or buffer into a BGR24 Frame, with its EXIF orientation applied (phone
 * photos are stored sideways; YuNet misses rotated faces) and any alpha dropped.
 * For tests, evaluation and enrolment photos: camera frames come from ffmpeg, never through here.
 * Rejects with VISION_ERR_IMAGE_DECODE when the image is unreadable, corrupt or truncated.
 */
export async function loadImageAsFrame(input: string | Buffer, cameraId = 'image'): Promise<Frame> {
  const what = typeof input === 'string' ? input : `buffer of ${input.length} bytes`;
  let decoded: { data: Buffer; info: sharp.OutputInfo };
  try {
    decoded = await sharp(input)
      .rotate()
      .removeAlpha()
      .toColourspace('srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new VisionError('VISION_ERR_IMAGE_DECODE', `cannot decode image ${what}: ${reason}`, { cause: err });
  }
  const { data, info } = decoded;
  if (info.channels !== 3 || data.length !== info.width * info.height * 3) {
    throw new VisionError(
      'VISION_ERR_IMAGE_DECODE',
      `image ${what} decoded to ${info.channels} channels, ${data.length} bytes for ${info.width}×${info.height}`,
    );
  }
  const bgr = new Uint8Array(data.buffer, data.byteOffset, data.length);
  for (let i = 0; i < bgr.length; i += 3) {
    const r = bgr[i]!;
    bgr[i] = bgr[i + 2]!;
    bgr[i + 2] = r;
  }
  return { cameraId, seq: 0, tsMs: Date.now(), width: info.width, height: info.height, data: bgr };
}
