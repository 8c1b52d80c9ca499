import QRCode from 'qrcode';
import sharp from 'sharp';

/**
 * What a holder carries: the token as a QR code (byte mode, error correction M: a token with a
 * template key is a version-6 code), alone for a phone or on a printable card. Both images hold
 * the token, and for an enrolled student the template key with it: whoever writes them to a file
 * should delete it once printed or sent.
 */

/** CR80 card (85.6 × 54 mm) at 300 dpi. */
export const CARD_WIDTH_PX = 1011;
export const CARD_HEIGHT_PX = 638;

const qrSegments = (token: Uint8Array) => [{ data: token, mode: 'byte' as const }];

export async function renderQrPng(
  token: Uint8Array,
  opts: { scale?: number; marginModules?: number } = {},
): Promise<Buffer> {
  return QRCode.toBuffer(qrSegments(token), {
    type: 'png',
    errorCorrectionLevel: 'M',
    margin: opts.marginModules ?? 4,
    scale: opts.scale ?? 8,
  });
}

export interface CardFace {
  kind: 'student' | 'visitor';
  /** e.g. the school's name; default "Portail" */
  title?: string;
  lastName: string;
  firstName: string;
  /** the class of a student, "reçu par …" for a visitor */
  detail: string;
  /** YYYY-MM-DD */
  validUntil: string;
  credentialId: string;
  /** a kept ID photo (JPEG), only where the site keeps them */
  photoJpeg?: Uint8Array;
}

const escapeXml = (s: string) =>
  s.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!);

/** Font size that fits `text` in `widthPx` (DejaVu Sans averages ~0.62 em per character), capped. */
export function fitFontPx(text: string, widthPx: number, maxPx: number): number {
  return Math.max(14, Math.min(maxPx, Math.floor(widthPx / (0.62 * Math.max(1, text.length)))));
}

const frDate = (iso: string) => `${iso.slice(8, 10)}/${iso.slice(5, 7)}/${iso.slice(0, 4)}`;

/** Pure: the card's SVG without the QR code (composited after), for a given text column width. */
export function cardSvg(face: CardFace, textLeftPx: number, textWidthPx: number): string {
  const title = face.title ?? 'Portail';
  const header = face.kind === 'visitor' ? 'VISITEUR' : "CARTE D'ACCÈS";
  const validity =
    face.kind === 'visitor' ? `Valable le ${frDate(face.validUntil)}` : `Valable jusqu'au ${frDate(face.validUntil)}`;
  const last = face.lastName.toUpperCase();
  const lines: [string, number, string, number][] = [
    [last, fitFontPx(last, textWidthPx, 46), 'bold', 0],
    [face.firstName, fitFontPx(face.firstName, textWidthPx, 40), 'normal', 0],
    [face.detail, fitFontPx(face.detail, textWidthPx, 32), 'normal', 0],
  ];
  let y = face.photoJpeg ? 330 : 190;
  const text = lines
    .map(([t, size, weight]) => {
      y += size + 14;
      return `<text x="${textLeftPx}" y="${y}" font-size="${size}" font-weight="${weight}">${escapeXml(t)}</text>`;
    })
    .join('\n  ');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${CARD_WIDTH_PX}" height="${CARD_HEIGHT_PX}" font-family="DejaVu Sans, sans-serif" fill="#111">
  <rect width="100%" height="100%" fill="#fff"/>
  <rect width="100%" height="86" fill="${face.kind === 'visitor' ? '#b3261e' : '#1f4e79'}"/>
  <text x="${textLeftPx}" y="56" font-size="${fitFontPx(title, 520, 36)}" font-weight="bold" fill="#fff">${escapeXml(title)}</text>
  <text x="${textLeftPx}" y="${face.photoJpeg ? 130 : 140}" font-size="24" fill="#555">${escapeXml(header)}</text>
  ${text}
  <text x="${textLeftPx}" y="560" font-size="24">${escapeXml(validity)}</text>
  <text x="${textLeftPx}" y="600" font-size="20" font-family="DejaVu Sans Mono, monospace" fill="#555">${escapeXml(face.credentialId)}</text>
</svg>`;
}

/** A printable card (PNG, 1011 × 638): names, class or host, validity, the QR code, and a kept photo if any. */
export async function renderCardPng(face: CardFace, token: Uint8Array): Promise<Buffer> {
  const qrSidePx = 470;
  const qr = await sharp(await renderQrPng(token, { scale: 10, marginModules: 4 }))
    .resize(qrSidePx, qrSidePx, { kernel: 'nearest' })
    .toBuffer();
  const textLeftPx = 40;
  const textWidthPx = CARD_WIDTH_PX - qrSidePx - 2 * textLeftPx - 20;
  const layers: sharp.OverlayOptions[] = [{ input: qr, left: CARD_WIDTH_PX - qrSidePx - 30, top: 120 }];
  if (face.photoJpeg) {
    const photo = await sharp(face.photoJpeg).resize(150, 190, { fit: 'cover' }).toBuffer();
    layers.push({ input: photo, left: textLeftPx + 300, top: 100 });
  }
  return sharp(Buffer.from(cardSvg(face, textLeftPx, textWidthPx)))
    .composite(layers)
    .png()
    .toBuffer();
}
