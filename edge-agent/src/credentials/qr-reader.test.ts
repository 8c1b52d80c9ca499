import { randomBytes } from 'node:crypto';
import { credentialIdFromBytes, encodeCredentialToken, generateSigningKey } from '@portail/protocol';
import { describe, expect, it } from 'vitest';
import { renderQrScene } from '../../../scripts/lib/qr-scene.js';
import type { Frame } from '@portail/vision/types.js';
import { createJsqrReader, createZxingQrReader } from './qr-reader.js';

const key = generateSigningKey(1);
const tok = () =>
  encodeCredentialToken({ credentialId: credentialIdFromBytes(randomBytes(5)), siteCode: 1, lastValidDay: 1000, keyId: 1, templateKey: randomBytes(32) }, key.privateKey);
const asFrame = (s: { data: Uint8Array; width: number; height: number }): Frame => ({ cameraId: 'c', seq: 0, tsMs: 0, ...s });

describe('QR readers on synthetic gate frames', () => {
  const zxing = createZxingQrReader();

  it('zxing reads the exact token bytes of a version-6 code, upright, rotated, tilted and blurred', async () => {
    for (const o of [{ modulePx: 3 }, { modulePx: 3, rotateDeg: 25 }, { modulePx: 3, shear: 0.3, blurSigma: 1 }]) {
      const t = tok();
      const scene = await renderQrScene(t, { ...o, x: 200, y: 100 });
      expect(scene.version).toBeLessThanOrEqual(6);
      const found = await zxing.read(asFrame(scene));
      expect(found.map((b) => Buffer.from(b).toString('hex')), JSON.stringify(o)).toContain(Buffer.from(t).toString('hex'));
    }
  });

  it('reads only inside the region of interest when one is given', async () => {
    const t = tok();
    const scene = asFrame(await renderQrScene(t, { modulePx: 3, x: 400, y: 250 }));
    expect(await zxing.read(scene, { x: 0, y: 0, w: 300, h: 200 })).toEqual([]);
    expect((await zxing.read(scene, { x: 380, y: 230, w: 260, h: 250 })).length).toBe(1);
  });

  it('returns nothing for a frame without a code, and for a region too small to hold one', async () => {
    const blank = asFrame({ data: new Uint8Array(320 * 240 * 3).fill(128), width: 320, height: 240 });
    expect(await zxing.read(blank)).toEqual([]);
    expect(await zxing.read(blank, { x: 0, y: 0, w: 10, h: 10 })).toEqual([]);
    expect(await createJsqrReader().read(blank)).toEqual([]);
  });

  it('jsqr (the comparison reader) reads a clean code too', async () => {
    const t = tok();
    const found = await createJsqrReader().read(asFrame(await renderQrScene(t, { modulePx: 4 })));
    expect(found.map((b) => Buffer.from(b).toString('hex'))).toEqual([Buffer.from(t).toString('hex')]);
  });
});
