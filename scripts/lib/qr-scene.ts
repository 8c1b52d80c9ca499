// Synthetic gate scenes for QR tests and benchmarks: a token rendered as a QR code (byte mode,
// error correction M) and composited into a camera-sized BGR frame, optionally rotated, sheared
// (the card held at an angle) and blurred (motion, focus).
import QRCode from 'qrcode';
import sharp from 'sharp';

export interface SceneOptions {
  frameWidth?: number;
  frameHeight?: number;
  /** pixels per QR module before rotation */
  modulePx: number;
  rotateDeg?: number;
  /** horizontal shear (tan of the angle), a cheap stand-in for a card tilted towards the camera */
  shear?: number;
  blurSigma?: number;
  /** top-left corner of the code in the frame */
  x?: number;
  y?: number;
  /** background gray level */
  background?: number;
}

/** Gray image of the QR code with a 4-module quiet zone. */
export function renderQrGray(bytes: Uint8Array, modulePx: number): { data: Buffer; size: number; version: number } {
  const qr = QRCode.create([{ data: bytes, mode: 'byte' }], { errorCorrectionLevel: 'M' });
  const n = qr.modules.size;
  const quiet = 4;
  const size = (n + 2 * quiet) * modulePx;
  const data = Buffer.alloc(size * size, 255);
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < n; c++) {
      if (!qr.modules.get(r, c)) continue;
      for (let dy = 0; dy < modulePx; dy++) {
        const row = ((quiet + r) * modulePx + dy) * size + (quiet + c) * modulePx;
        data.fill(0, row, row + modulePx);
      }
    }
  }
  return { data, size, version: qr.version };
}

/** A BGR24 frame with the QR code of `bytes` somewhere in it. */
export async function renderQrScene(bytes: Uint8Array, o: SceneOptions): Promise<{ data: Uint8Array; width: number; height: number; version: number }> {
  const width = o.frameWidth ?? 640;
  const height = o.frameHeight ?? 480;
  const qr = renderQrGray(bytes, o.modulePx);
  let img = sharp(qr.data, { raw: { width: qr.size, height: qr.size, channels: 1 } }).toColourspace('srgb');
  if (o.shear) img = img.affine([1, o.shear, 0, 1], { background: '#ffffff', interpolator: 'bilinear' });
  if (o.rotateDeg) img = img.rotate(o.rotateDeg, { background: '#ffffff' });
  const card = await img.png().toBuffer();
  const bg = o.background ?? 110;
  let scene = sharp({ create: { width, height, channels: 3, background: { r: bg, g: bg, b: bg } } }).composite([
    { input: card, left: o.x ?? 40, top: o.y ?? 40 },
  ]);
  if (o.blurSigma && o.blurSigma >= 0.3) scene = sharp(await scene.png().toBuffer()).blur(o.blurSigma);
  const { data, info } = await scene.removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const bgr = new Uint8Array(info.width * info.height * 3);
  for (let i = 0; i < bgr.length; i += 3) {
    bgr[i] = data[i + 2]!;
    bgr[i + 1] = data[i + 1]!;
    bgr[i + 2] = data[i]!;
  }
  return { data: bgr, width: info.width, height: info.height, version: qr.version };
}
