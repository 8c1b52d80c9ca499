import { spawn } from 'node:child_process';
import sharp from 'sharp';
import { renderQrGray } from '../../scripts/lib/qr-scene.js';

/** One passage of a generated gate clip: a credential shown, a face in front of the camera, or neither. */
export interface PassageSpec {
  token?: Uint8Array;
  /** path of a face photo (faces-dev) shown in the capture zone */
  faceImage?: string;
  seconds: number;
}

const W = 640;
const H = 480;

async function composeFrame(p: { token?: Uint8Array; faceImage?: string }): Promise<Buffer> {
  const layers: sharp.OverlayOptions[] = [];
  if (p.faceImage) {
    layers.push({ input: await sharp(p.faceImage).rotate().resize(300, 300).toBuffer(), left: 40, top: 90 });
  }
  if (p.token) {
    const qr = renderQrGray(p.token, 4);
    layers.push({ input: await sharp(qr.data, { raw: { width: qr.size, height: qr.size, channels: 1 } }).png().toBuffer(), left: 410, top: 140 });
  }
  const { data } = await sharp({ create: { width: W, height: H, channels: 3, background: { r: 96, g: 100, b: 104 } } })
    .composite(layers)
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  // RGB → BGR, the pixel order ffmpeg is told below
  for (let i = 0; i < data.length; i += 3) {
    const r = data[i]!;
    data[i] = data[i + 2]!;
    data[i + 2] = r;
  }
  return data;
}

/**
 * Encode a gate clip (H.264, 640×480) from passages separated by empty frames. It is written to
 * `outPath`, a temporary file the test deletes: it holds public LFW photos, never real students.
 */
export async function makeGateClip(passages: readonly PassageSpec[], outPath: string, o: { fps?: number; gapSeconds?: number } = {}): Promise<void> {
  const fps = o.fps ?? 10;
  const gap = Math.round((o.gapSeconds ?? 2) * fps);
  const ff = spawn(
    'ffmpeg',
    ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'rawvideo', '-pix_fmt', 'bgr24', '-s', `${W}x${H}`, '-r', String(fps), '-i', 'pipe:0',
      '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '14', '-pix_fmt', 'yuv420p', outPath],
    { stdio: ['pipe', 'ignore', 'pipe'] },
  );
  let err = '';
  ff.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const done = new Promise<void>((resolve, reject) =>
    ff.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`ffmpeg failed (${code}): ${err}`)))),
  );
  const write = (buf: Buffer) => new Promise<void>((resolve) => (ff.stdin.write(buf) ? resolve() : ff.stdin.once('drain', () => resolve())));
  const empty = await composeFrame({});
  for (let i = 0; i < gap; i++) await write(empty);
  for (const p of passages) {
    const frame = await composeFrame(p);
    for (let i = 0; i < Math.round(p.seconds * fps); i++) await write(frame);
    for (let i = 0; i < gap; i++) await write(empty);
  }
  ff.stdin.end();
  await done;
}
