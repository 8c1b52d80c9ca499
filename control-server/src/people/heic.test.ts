import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { heicToPng, isHeic } from './heic.js';

// a generated gradient (no face), encoded with libheif's heif-enc (HEVC): fixtures/no-face.heic
const FIXTURE = fileURLToPath(new URL('./fixtures/no-face.heic', import.meta.url));

describe('HEIC decoding (heic-decode, in memory)', () => {
  it('recognises HEIC by its ftyp brand, not JPEG, PNG or AVIF', () => {
    expect(isHeic(readFileSync(FIXTURE))).toBe(true);
    expect(isHeic(Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0, 0, 0, 0, 0, 0, 0]))).toBe(false);
    const avif = Buffer.concat([Buffer.from([0, 0, 0, 0x1c]), Buffer.from('ftypavif'), Buffer.alloc(8)]);
    expect(isHeic(avif)).toBe(false);
  });

  it('decodes to a PNG of the same size and pixels close to the source gradient', async () => {
    const r = await heicToPng(readFileSync(FIXTURE), () => true);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect([r.width, r.height]).toEqual([320, 240]);
    const { data, info } = await sharp(r.png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height]).toEqual([320, 240]);
    // the fixture's red channel ramps from 0 (left) to ~255 (right), green from top to bottom
    const px = (x: number, y: number) => data.subarray((y * 320 + x) * 3, (y * 320 + x) * 3 + 3);
    expect(px(2, 120)[0]).toBeLessThan(30);
    expect(px(317, 120)[0]).toBeGreaterThan(225);
    expect(px(160, 2)[1]).toBeLessThan(30);
    expect(px(160, 237)[1]).toBeGreaterThan(225);
  });

  it('refuses by size before decoding, and refuses a truncated file as corrupt', async () => {
    const bytes = readFileSync(FIXTURE);
    expect(await heicToPng(bytes, (w, h) => w * h < 1000)).toMatchObject({
      ok: false,
      reason: 'dimensions',
      width: 320,
      height: 240,
    });
    expect(await heicToPng(bytes.subarray(0, 600), () => true)).toMatchObject({ ok: false, reason: 'corrupt' });
  });
});
