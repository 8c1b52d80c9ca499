import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ffmpegInputArgs, parseCameraUrl, redactCameraUrl, scrubSecrets } from './camera-url.js';
import { openCameraSecretKey, openSealedCameraUrl, sealCameraUrl } from './camera-secret.js';
import {
  blockSizeFor,
  clampBox,
  faceMaskBox,
  personHeadBox,
  pixelateFacesAndHeads,
  pixelateRegion,
} from './pixelate.js';
import { parsePpmHeader, splitJpegStream, splitPpmStream } from './ppm-stream.js';
import { rankCaptureFrames } from './enrolment-capture.js';
import { checkCameraInput } from './camera-registry.js';
import { createLimiter, createSerialQueue } from './serial-queue.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'portail-cam-units-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('camera URLs', () => {
  it('accepts rtsp and rtsps; refuses other schemes, and files unless allowed', () => {
    expect(parseCameraUrl('rtsp://cam.local:554/stream1', { allowFileUrls: false })).toEqual({
      ok: true,
      value: { kind: 'rtsp', url: 'rtsp://cam.local:554/stream1' },
    });
    expect(parseCameraUrl('rtsps://u:p@10.0.0.2/s', { allowFileUrls: false }).ok).toBe(true);
    for (const bad of ['http://cam/x.mjpg', 'concat:/a|/b', 'rtsp://', 'not a url', '', 'rtsp://h/\npath']) {
      const r = parseCameraUrl(bad, { allowFileUrls: true });
      expect(r.ok, bad).toBe(false);
    }
    expect(parseCameraUrl('/srv/clips/gate.mp4', { allowFileUrls: false }).ok).toBe(false);
    expect(parseCameraUrl('file:///srv/clips/gate.mp4', { allowFileUrls: false }).ok).toBe(false);
    expect(parseCameraUrl('/srv/clips/gate.mp4', { allowFileUrls: true })).toEqual({
      ok: true,
      value: { kind: 'file', path: '/srv/clips/gate.mp4' },
    });
    expect(parseCameraUrl('file:///srv/clips/gate%201.mp4', { allowFileUrls: true })).toEqual({
      ok: true,
      value: { kind: 'file', path: '/srv/clips/gate 1.mp4' },
    });
  });

  it('an unparsable URL error does not echo the password', () => {
    const r = parseCameraUrl('rtsp://admin:S3cret!@[bad/x', { allowFileUrls: false });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.message).not.toContain('S3cret');
  });

  it('redacts the password, keeps the user, host, port and path', () => {
    expect(redactCameraUrl('rtsp://admin:S3cr%40t@10.1.2.3:554/Streaming/Channels/101')).toBe(
      'rtsp://admin:***@10.1.2.3:554/Streaming/Channels/101',
    );
    expect(redactCameraUrl('rtsp://10.1.2.3/live')).toBe('rtsp://10.1.2.3/live');
    expect(redactCameraUrl('rtsp://10.1.2.3/live?user=a&password=hunter2')).toBe(
      'rtsp://10.1.2.3/live?user=a&password=***',
    );
    expect(redactCameraUrl('/srv/clip.mp4')).toBe('/srv/clip.mp4');
    expect(redactCameraUrl('::::')).toBe('[unparsable URL]');
  });

  it('scrubs the password from ffmpeg messages, raw and decoded', () => {
    const url = 'rtsp://admin:S3cr%40t@10.1.2.3/live';
    const msg = `[rtsp @ 0x1] method DESCRIBE failed: 401 Unauthorized ${url} (S3cr@t)`;
    const out = scrubSecrets(msg, url);
    expect(out).not.toContain('S3cr');
    expect(out).toContain('rtsp://admin:***@10.1.2.3/live');
    expect(scrubSecrets('Input rtsp://x:y@h/p', '/file.mp4')).toBe('Input rtsp://x:***@h/p');
  });

  it('ffmpeg input args whitelist protocols and force RTSP over TCP', () => {
    const a = ffmpegInputArgs({ kind: 'rtsp', url: 'rtsp://h/p' });
    expect(a.join(' ')).toContain('-protocol_whitelist rtsp,rtsps,rtp,srtp,udp,tcp,tls');
    expect(a.join(' ')).toContain('-rtsp_transport tcp');
    const f = ffmpegInputArgs({ kind: 'file', path: '/a:b.mp4' }, { seekS: 3.25 });
    expect(f).toEqual(['-protocol_whitelist', 'file', '-ss', '3.25', '-i', 'file:/a:b.mp4']);
  });
});

describe('camera URL secret', () => {
  it('round-trips, binds the ciphertext to its camera, and keeps the key file private', () => {
    const key = openCameraSecretKey(tmp);
    expect(statSync(path.join(tmp, 'keys', 'camera-url.key')).mode & 0o777).toBe(0o600);
    expect(openCameraSecretKey(tmp).keyId).toBe(key.keyId);
    const ref = { site: 's1', agent: 'gate-1', camera: 'cam' };
    const url = 'rtsp://admin:S3cret@10.0.0.9/live';
    const sealed = sealCameraUrl(key, ref, url);
    expect(sealed.ciphertext.toString('utf8')).not.toContain('S3cret');
    expect(sealed.ciphertext.includes(Buffer.from('S3cret'))).toBe(false);
    expect(openSealedCameraUrl(key, ref, sealed)).toBe(url);
    expect(() => openSealedCameraUrl(key, { ...ref, camera: 'other' }, sealed)).toThrow();
    const tampered = { ...sealed, ciphertext: Buffer.from(sealed.ciphertext) };
    tampered.ciphertext[0]! ^= 1;
    expect(() => openSealedCameraUrl(key, ref, tampered)).toThrow();
    expect(() => openSealedCameraUrl({ ...key, keyId: '0000000000000000' }, ref, sealed)).toThrow(/another server key/);
  });
});

describe('camera declarations', () => {
  const ref = { site: 's1', agent: 'gate-1', camera: 'hall' };
  it('refuses tracking outside entrances and circulation areas, bad ids and names', () => {
    const base = {
      name: 'Hall',
      role: 'tracking' as const,
      locationType: 'circulation' as const,
      trackingEnabled: true,
    };
    expect(checkCameraInput(ref, base)).toBeNull();
    expect(checkCameraInput(ref, { ...base, locationType: 'playground' })).toMatch(/tracking cannot be enabled/);
    expect(checkCameraInput(ref, { ...base, locationType: 'playground', trackingEnabled: false })).toBeNull();
    expect(checkCameraInput({ ...ref, camera: 'Bad/Id' }, base)).toMatch(/invalid camera id/);
    expect(checkCameraInput(ref, { ...base, name: '  ' })).toMatch(/name/);
  });
});

describe('pixelation geometry', () => {
  it('clamps boxes to the image', () => {
    expect(clampBox({ x: -5, y: -5, w: 20, h: 20 }, 10, 10)).toEqual({ x: 0, y: 0, w: 10, h: 10 });
    expect(clampBox({ x: 12, y: 0, w: 5, h: 5 }, 10, 10)).toBeNull();
    expect(clampBox({ x: 1.4, y: 2.6, w: 3.2, h: 3 }, 10, 10)).toEqual({ x: 1, y: 2, w: 4, h: 4 });
  });

  it('a face mask is wider than the face, reaches higher above than below, and contains the face', () => {
    const face = { x: 100, y: 100, w: 50, h: 60 };
    const m = faceMaskBox(face, 640, 480)!;
    expect(m.w).toBe(80);
    // 60 × 1.9 = 114, rounded outwards at both ends
    expect(m.h).toBe(115);
    expect(m.x).toBeLessThanOrEqual(face.x);
    expect(m.x + m.w).toBeGreaterThanOrEqual(face.x + face.w);
    const above = face.y - m.y;
    const below = m.y + m.h - (face.y + face.h);
    expect(above).toBeGreaterThan(below);
    expect(below).toBeGreaterThan(0);
    // at the border it is clamped, never negative
    expect(faceMaskBox({ x: 0, y: 0, w: 40, h: 40 }, 640, 480)).toMatchObject({ x: 0, y: 0 });
  });

  it('a person head region covers the top of the box, with a margin', () => {
    const r = personHeadBox({ x: 100, y: 50, w: 100, h: 300 }, 640, 480)!;
    expect(r).toEqual({ x: 90, y: 35, w: 120, h: 105 });
  });

  it('blocks are a fifth of the shorter side, at least 8 px', () => {
    expect(blockSizeFor({ x: 0, y: 0, w: 200, h: 300 })).toBe(40);
    expect(blockSizeFor({ x: 0, y: 0, w: 20, h: 20 })).toBe(8);
  });

  it('pixelates inside the region only, each block to its mean', () => {
    const width = 8;
    const height = 4;
    const data = new Uint8Array(width * height * 3);
    for (let i = 0; i < data.length; i++) data[i] = i % 251;
    const before = Uint8Array.from(data);
    pixelateRegion({ width, height, data }, { x: 0, y: 0, w: 4, h: 4 }, 2);
    // outside untouched
    for (let y = 0; y < height; y++)
      for (let x = 4; x < width; x++)
        for (let c = 0; c < 3; c++) expect(data[(y * width + x) * 3 + c]).toBe(before[(y * width + x) * 3 + c]);
    // block (0,0)-(1,1): the mean of its 4 pixels, channel 0
    const idx = (x: number, y: number) => (y * width + x) * 3;
    const mean = Math.round((before[idx(0, 0)]! + before[idx(1, 0)]! + before[idx(0, 1)]! + before[idx(1, 1)]!) / 4);
    for (const [x, y] of [
      [0, 0],
      [1, 0],
      [0, 1],
      [1, 1],
    ] as const)
      expect(data[idx(x, y)]).toBe(mean);
  });

  it('pixelateFacesAndHeads masks every face and person', () => {
    const img = { width: 64, height: 64, data: new Uint8Array(64 * 64 * 3).map((_, i) => (i * 37) % 256) };
    const regions = pixelateFacesAndHeads(img, [{ x: 10, y: 10, w: 10, h: 10 }], [{ x: 40, y: 20, w: 10, h: 40 }]);
    expect(regions).toHaveLength(2);
  });
});

describe('ffmpeg output parsing', () => {
  const ppm = (w: number, h: number, fill: number) =>
    Buffer.concat([Buffer.from(`P6\n${w} ${h}\n255\n`), Buffer.alloc(w * h * 3, fill)]);

  it('splits a PPM stream into images, keeping an incomplete tail', () => {
    const stream = Buffer.concat([ppm(2, 2, 1), ppm(3, 1, 2), ppm(2, 2, 3).subarray(0, 15)]);
    const { images, rest } = splitPpmStream(new Uint8Array(stream));
    expect(images.map((i) => [i.width, i.height, i.data[0]])).toEqual([
      [2, 2, 1],
      [3, 1, 2],
    ]);
    expect(rest.length).toBe(15);
  });

  it('reads header comments and refuses what is not an 8-bit P6', () => {
    expect(parsePpmHeader(new Uint8Array(Buffer.from('P6 # made by ffmpeg\n4 3\n255\nxxx')))).toEqual({
      width: 4,
      height: 3,
      headerBytes: 28,
    });
    expect(parsePpmHeader(new Uint8Array(Buffer.from('P6\n4 3')))).toBeNull();
    expect(() => parsePpmHeader(new Uint8Array(Buffer.from('P5\n4 3\n255\n')))).toThrow(/P6/);
    expect(() => parsePpmHeader(new Uint8Array(Buffer.from('P6\n4 3\n65535\n')))).toThrow(/8-bit/);
  });

  it('splits an MJPEG stream on SOI/EOI, resynchronising on garbage', () => {
    const jpeg = (n: number) => Buffer.from([0xff, 0xd8, n, 0xff, 0x00, n, 0xff, 0xd9]);
    const stream = Buffer.concat([Buffer.from([1, 2, 3]), jpeg(7), jpeg(8), jpeg(9).subarray(0, 5)]);
    const { jpegs, rest } = splitJpegStream(new Uint8Array(stream));
    expect(jpegs.map((j) => j[2])).toEqual([7, 8]);
    expect(jpegs[0]!.length).toBe(8);
    expect(Array.from(rest)).toEqual([0xff, 0xd8, 9, 0xff, 0x00]);
  });
});

describe('capture frame ranking', () => {
  const face = (side: number, score = 0.9) => ({
    box: { x: 0, y: 0, w: side, h: side },
    score,
    landmarks: [
      [0, 0],
      [0, 0],
      [0, 0],
      [0, 0],
      [0, 0],
    ] as [number, number][] as never,
  });
  it('keeps frames with exactly one face, largest first; counts crowded frames', () => {
    const r = rankCaptureFrames([
      { index: 0, faces: [] },
      { index: 1, faces: [face(100)] },
      { index: 2, faces: [face(140), face(120)] },
      { index: 3, faces: [face(150), face(20)] },
      { index: 4, faces: [face(120)] },
    ]);
    // frame 3's second face is small: not ambiguous, as the enrolment rule says
    expect(r.ranked).toEqual([3, 4, 1]);
    expect(r.several).toBe(1);
  });
});

describe('serial queue and limiter', () => {
  it('the limiter runs at most n at a time, all of them eventually; a failure frees its slot', async () => {
    const limit = createLimiter(2);
    let active = 0;
    let peak = 0;
    const job = (fail: boolean) =>
      limit(async () => {
        active++;
        peak = Math.max(peak, active);
        await new Promise((r) => setTimeout(r, 5));
        active--;
        if (fail) throw new Error('boom');
        return 1;
      });
    const results = await Promise.allSettled([job(false), job(true), job(false), job(false), job(false)]);
    expect(peak).toBe(2);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled']);
  });

  it('the serial queue runs one at a time in order, past failures', async () => {
    const run = createSerialQueue();
    const order: number[] = [];
    const p = [
      run(async () => {
        await new Promise((r) => setTimeout(r, 5));
        order.push(1);
      }),
      run(async () => {
        order.push(2);
        throw new Error('x');
      }),
      run(async () => {
        order.push(3);
      }),
    ];
    await Promise.allSettled(p);
    expect(order).toEqual([1, 2, 3]);
  });
});
