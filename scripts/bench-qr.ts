// `npm run bench:qr -- --json`: which QR decoder reads credentials best from gate frames.
// Renders real credential tokens (106 bytes: version 6-M) into 640×480 frames under blur,
// rotation and tilt, decodes each with every reader, and prints one JSON line: success rate and
// median / p95 decode time per reader and condition.
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { credentialIdFromBytes, dayNumber, encodeCredentialToken, generateSigningKey } from '../protocol/src/credential/token.js';
import { createJsqrReader, createZxingQrReader, type QrReader } from '../edge-agent/src/credentials/qr-reader.js';
import { renderQrScene } from './lib/qr-scene.js';

const { values } = parseArgs({ options: { json: { type: 'boolean' }, samples: { type: 'string' } } });
const samples = Number(values.samples ?? 12);
const key = generateSigningKey(1);
const conditions = [
  { name: 'clean-3px', modulePx: 3 },
  { name: 'small-2px', modulePx: 2 },
  { name: 'blur1.2', modulePx: 3, blurSigma: 1.2 },
  { name: 'blur2', modulePx: 4, blurSigma: 2 },
  { name: 'rot25', modulePx: 3, rotateDeg: 25 },
  { name: 'tilt0.35', modulePx: 3, shear: 0.35 },
  { name: 'rot15+tilt0.2+blur1', modulePx: 3, rotateDeg: 15, shear: 0.2, blurSigma: 1 },
  { name: 'blur2.5-3px', modulePx: 3, blurSigma: 2.5 },
  { name: 'rot40+tilt0.4+blur1.5', modulePx: 3, rotateDeg: 40, shear: 0.4, blurSigma: 1.5 },
];
const readers: QrReader[] = [createZxingQrReader(), createJsqrReader()];
const pct = (v: number[], p: number) => [...v].sort((a, b) => a - b)[Math.min(v.length - 1, Math.ceil((p / 100) * v.length) - 1)] ?? 0;

const results: Record<string, Record<string, { ok: number; n: number; medianMs: number; p95Ms: number }>> = {};
for (const c of conditions) {
  const frames = [];
  for (let i = 0; i < samples; i++) {
    const token = encodeCredentialToken(
      { credentialId: credentialIdFromBytes(randomBytes(5)), siteCode: 7, lastValidDay: dayNumber(new Date()) + 200, keyId: 1, templateKey: randomBytes(32) },
      key.privateKey,
    );
    const scene = await renderQrScene(token, { ...c, x: 30 + ((i * 53) % 300), y: 20 + ((i * 31) % 180) });
    frames.push({ token, frame: { cameraId: 'bench', seq: i, tsMs: 0, width: scene.width, height: scene.height, data: scene.data } });
  }
  for (const r of readers) {
    const times: number[] = [];
    let ok = 0;
    for (const { token, frame } of frames) {
      const t0 = performance.now();
      const found = await r.read(frame);
      times.push(performance.now() - t0);
      if (found.some((b) => Buffer.from(b).equals(Buffer.from(token)))) ok++;
    }
    (results[r.name] ??= {})[c.name] = { ok, n: frames.length, medianMs: +pct(times, 50).toFixed(2), p95Ms: +pct(times, 95).toFixed(2) };
  }
}
const summary = Object.fromEntries(
  Object.entries(results).map(([name, byCond]) => {
    const all = Object.values(byCond);
    return [name, { successRate: +(all.reduce((s, x) => s + x.ok, 0) / all.reduce((s, x) => s + x.n, 0)).toFixed(3), conditions: byCond }];
  }),
);
const out = { bench: 'qr', frame: '640x480', tokenBytes: 106, samplesPerCondition: samples, readers: summary };
process.stdout.write(values.json ? `${JSON.stringify(out)}\n` : `${JSON.stringify(out, null, 2)}\n`);
