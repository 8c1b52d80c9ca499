import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { loadImageAsFrame } from './image-frame.js';
import { VisionError } from './vision-error.js';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DATA_DIR = process.env.PORTAIL_DATA_DIR ?? resolve(REPO_ROOT, '..', 'shared', 'data');

/** A lossless 2×1 PNG: a red pixel then a blue one, in memory. */
function redBluePng(channels: 3 | 4 = 3): Promise<Buffer> {
  const px = channels === 3 ? [255, 0, 0, 0, 0, 255] : [255, 0, 0, 255, 0, 0, 255, 128];
  return sharp(Buffer.from(px), { raw: { width: 2, height: 1, channels } }).png().toBuffer();
}

describe('loadImageAsFrame', () => {
  it('decodes to packed BGR24: red is (0,0,255), blue is (255,0,0)', async () => {
    const frame = await loadImageAsFrame(await redBluePng(), 'cam-test');
    expect(frame).toMatchObject({ width: 2, height: 1, cameraId: 'cam-test', seq: 0 });
    expect(Array.from(frame.data)).toEqual([0, 0, 255, 255, 0, 0]);
  });

  it('drops alpha and expands grayscale to 3 channels', async () => {
    const rgba = await loadImageAsFrame(await redBluePng(4));
    expect(Array.from(rgba.data)).toEqual([0, 0, 255, 255, 0, 0]);
    const grayPng = await sharp(Buffer.from([10, 200]), { raw: { width: 2, height: 1, channels: 1 } })
      .png()
      .toBuffer();
    const gray = await loadImageAsFrame(grayPng);
    expect(Array.from(gray.data)).toEqual([10, 10, 10, 200, 200, 200]);
  });

  it('applies the EXIF orientation (tag 6: stored landscape, shown portrait)', async () => {
    const stored = await sharp({ create: { width: 40, height: 20, channels: 3, background: { r: 9, g: 9, b: 9 } } })
      .jpeg()
      .withMetadata({ orientation: 6 })
      .toBuffer();
    const frame = await loadImageAsFrame(stored);
    expect([frame.width, frame.height]).toEqual([20, 40]);
    expect(frame.data.length).toBe(20 * 40 * 3);
  });

  it('rotates the liveness sample image_T1.jpg to portrait 480×640', async () => {
    const frame = await loadImageAsFrame(resolve(DATA_DIR, 'liveness-samples', 'image_T1.jpg'));
    expect([frame.width, frame.height]).toEqual([480, 640]);
  });

  it('rejects a truncated JPEG with VISION_ERR_IMAGE_DECODE', async () => {
    const whole = readFileSync(resolve(DATA_DIR, 'liveness-samples', 'image_T1.jpg'));
    const err = await loadImageAsFrame(whole.subarray(0, Math.floor(whole.length / 2))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VisionError);
    expect((err as VisionError).code).toBe('VISION_ERR_IMAGE_DECODE');
    expect((err as Error).message).toMatch(/cannot decode image buffer of \d+ bytes: .*premature end/i);
  });

  it('rejects bytes that are not an image, and a missing file naming its path', async () => {
    await expect(loadImageAsFrame(Buffer.from('not an image at all'))).rejects.toThrow(/unsupported image format/);
    const missing = resolve(DATA_DIR, 'no-such-dir', 'missing.jpg');
    const err = await loadImageAsFrame(missing).catch((e: unknown) => e);
    expect((err as VisionError).code).toBe('VISION_ERR_IMAGE_DECODE');
    expect((err as Error).message).toContain(missing);
  });
});
