import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { Frame } from '@portail/vision/types.js';
import { FfmpegCamera, type CameraStateChange } from './ffmpeg-camera.js';
import { decodeInputArgs } from './ffmpeg-presets.js';

const DATA = process.env.PORTAIL_DATA_DIR ?? fileURLToPath(new URL('../../../../shared/data', import.meta.url));
const logger = pino({ level: 'silent' });

function waitFor(pred: () => boolean, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const tick = () => {
      if (pred()) resolve();
      else if (Date.now() - t0 > timeoutMs) reject(new Error('timed out'));
      else setTimeout(tick, 25);
    };
    tick();
  });
}

describe('FfmpegCamera (real ffmpeg)', () => {
  it('decodes a real clip to BGR frames of the native size and goes online', async () => {
    const frames: Frame[] = [];
    const states: CameraStateChange[] = [];
    const cam = new FfmpegCamera({
      id: 'cam1',
      source: { url: join(DATA, 'clips', 'intel-face-demographics-walking.mp4') },
      logger,
      onFrame: (f) => frames.push(f),
      onState: (s) => states.push(s),
    });
    cam.start();
    await waitFor(() => frames.length >= 5, 15_000);
    await cam.stop();
    expect(states[0]).toMatchObject({ state: 'online', code: 'OK', width: 480, height: 270 });
    expect(frames[0]!.data.length).toBe(480 * 270 * 3);
    expect(frames.map((f) => f.seq).slice(0, 3)).toEqual([0, 1, 2]);
    expect(states.at(-1)).toMatchObject({ state: 'offline', code: 'STOPPED' });
  });

  it('caps the frame rate with maxFps: the fps filter keeps 6 of every 12 frames of a clip played once', async () => {
    // a deterministic count, not a timing: the clip has 35 frames at 12 fps (2.92 s), so fps=6 keeps 17 or 18
    const frames: Frame[] = [];
    const states: CameraStateChange[] = [];
    const cam = new FfmpegCamera({
      id: 'cam-fps',
      source: { url: join(DATA, 'clips', 'intel-face-demographics-walking.mp4'), maxFps: 6 },
      logger,
      onFrame: (f) => frames.push(f),
      onState: (s) => states.push(s),
    });
    cam.start();
    await waitFor(() => states.some((s) => s.code === 'ENDED'), 20_000);
    await cam.stop();
    expect(Math.abs(frames.length - (35 * 6) / 12)).toBeLessThanOrEqual(1);
    expect(cam.restarts).toBe(0);
  });

  it('passes a hardware preset to ffmpeg: a device that does not exist → offline DECODE_ERROR naming the hardware', async () => {
    const decode = decodeInputArgs({ hwaccel: 'vaapi', hwaccelDevice: '/dev/dri/portail-no-such-node' });
    if (!decode.ok) throw new Error(decode.error.message);
    const states: CameraStateChange[] = [];
    const cam = new FfmpegCamera({
      id: 'cam-hw',
      source: { url: join(DATA, 'clips', 'intel-face-demographics-walking.mp4'), inputArgs: decode.value },
      logger,
      backoffInitialMs: 5000,
      onFrame: () => undefined,
      onState: (s) => states.push(s),
    });
    cam.start();
    await waitFor(() => states.length > 0, 15_000);
    await cam.stop();
    expect(states[0]).toMatchObject({ state: 'offline', code: 'DECODE_ERROR' });
    expect(states[0]!.reason).toMatch(/^hardware decoding failed: .*portail-no-such-node/);
  });

  it('reports a missing file as offline NOT_FOUND once, and keeps retrying without crashing', async () => {
    const states: CameraStateChange[] = [];
    const cam = new FfmpegCamera({
      id: 'cam2',
      source: { url: '/nonexistent/portail/clip.mp4', loop: true },
      logger,
      backoffInitialMs: 50,
      backoffMaxMs: 100,
      onFrame: () => undefined,
      onState: (s) => states.push(s),
    });
    cam.start();
    await waitFor(() => cam.restarts >= 2, 10_000);
    await cam.stop();
    const offline = states.filter((s) => s.code === 'NOT_FOUND');
    expect(offline).toHaveLength(1);
    expect(offline[0]!.reason).toContain('No such file');
  });
});
