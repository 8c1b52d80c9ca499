import { randomBytes } from 'node:crypto';
import { credentialIdFromBytes, encodeCredentialToken, generateSigningKey } from '@portail/protocol';
import * as jsQRModule from 'jsqr';
import QRCode from 'qrcode';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import {
  CARD_HEIGHT_PX,
  CARD_WIDTH_PX,
  cardSvg,
  fitFontPx,
  renderCardPng,
  renderQrPng,
  type CardFace,
} from './card.js';

// jsqr is CommonJS: under NodeNext its default import is the module object
const jsQR = (
  jsQRModule as unknown as { default: (d: Uint8ClampedArray, w: number, h: number) => { binaryData: number[] } | null }
).default;

async function readQr(png: Buffer): Promise<Uint8Array | null> {
  const { data, info } = await sharp(png).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  const r = jsQR(new Uint8ClampedArray(data.buffer, data.byteOffset, data.length), info.width, info.height);
  return r ? Uint8Array.from(r.binaryData) : null;
}

const signing = generateSigningKey(1);
const token = (withKey: boolean) =>
  encodeCredentialToken(
    {
      credentialId: credentialIdFromBytes(randomBytes(5)),
      siteCode: 12,
      lastValidDay: 1338,
      keyId: 1,
      ...(withKey ? { templateKey: new Uint8Array(randomBytes(32)) } : {}),
    },
    signing.privateKey,
  );

const face: CardFace = {
  kind: 'student',
  title: 'Lycée Victor-Hugo',
  lastName: "N'Diaye-Lévêque",
  firstName: 'Anaïs',
  detail: 'Classe 2NDE3',
  validUntil: '2027-08-31',
  credentialId: 'cabcdefgh',
};

describe('QR and card images', () => {
  it('the phone QR is byte mode, EC M, version ≤ 6, and reads back to the exact token', async () => {
    const tok = token(true);
    const qr = QRCode.create([{ data: tok, mode: 'byte' }], { errorCorrectionLevel: 'M' });
    expect(qr.version).toBeLessThanOrEqual(6);
    const png = await renderQrPng(tok);
    expect((await sharp(png).metadata()).format).toBe('png');
    expect(Buffer.from((await readQr(png))!).equals(Buffer.from(tok))).toBe(true);
  });

  it('the printable card is a CR80 PNG whose QR reads back to the token', async () => {
    for (const withKey of [false, true]) {
      const tok = token(withKey);
      const png = await renderCardPng(face, tok);
      const meta = await sharp(png).metadata();
      expect([meta.format, meta.width, meta.height]).toEqual(['png', CARD_WIDTH_PX, CARD_HEIGHT_PX]);
      expect(Buffer.from((await readQr(png))!).equals(Buffer.from(tok))).toBe(true);
    }
  });

  it('escapes names in the SVG and shrinks long ones to fit', () => {
    const svg = cardSvg({ ...face, lastName: 'Dupont <script>&', firstName: 'Jean-Édouard' }, 40, 440);
    expect(svg).toContain('DUPONT &lt;SCRIPT&gt;&amp;');
    expect(svg).toContain("Valable jusqu'au 31/08/2027".replace("'", '&apos;'));
    expect(svg).not.toContain('<script>');
    expect(fitFontPx('Martin', 440, 46)).toBe(46);
    expect(fitFontPx('Bonaventure-de-la-Tour-du-Pin-Chambly', 440, 46)).toBeLessThan(20);
    expect(
      cardSvg({ ...face, kind: 'visitor', detail: 'Reçu par Mme Martin', validUntil: '2026-11-22' }, 40, 440),
    ).toMatch(/VISITEUR[\s\S]*Valable le 22\/11\/2026/);
  });
});
