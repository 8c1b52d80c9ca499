import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import {
  FfmpegCamera,
  type CameraStateChange,
  type FfmpegCameraOptions,
} from '../../edge-agent/src/camera/ffmpeg-camera.js';
import type { Frame } from '@portail/vision/types.js';
import { clip } from '../helpers/paths.js';
import { startRtspServer, type RtspServer } from '../helpers/rtsp-server.js';
import { waitUntil } from '../helpers/wait.js';

/**
 * Fault injection on a real camera path: GStreamer RTSP server → real ffmpeg over TCP → FfmpegCamera.
 * The server is crashed (SIGKILL), frozen (SIGSTOP) and brought back on the same port.
 */

const CLIP = clip('intel-face-demographics-walking-and-pause.mp4');
const PASSWORD = 'Zq8-s3cr:et@x';

interface Recorded {
  cam: FfmpegCamera;
  frames: Frame[];
  states: CameraStateChange[];
  logLines: string[];
}

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function server(opts: Parameters<typeof startRtspServer>[0] = {}): Promise<RtspServer> {
  const s = await startRtspServer({ clip: CLIP, width: 320, height: 180, fps: 10, ...opts });
  cleanups.push(() => s.stop());
  return s;
}

function camera(id: string, url: string, extra: Partial<FfmpegCameraOptions> = {}): Recorded {
  const frames: Frame[] = [];
  const states: CameraStateChange[] = [];
  const logLines: string[] = [];
  // every log line the camera writes, at debug, kept to check for leaked credentials
  const logger = pino({ level: 'debug' }, { write: (line: string) => logLines.push(line) });
  const cam = new FfmpegCamera({
    id,
    source: { url },
    logger,
    onFrame: (f) => frames.push(f),
    onState: (s) => states.push(s),
    ...extra,
  });
  cleanups.push(() => cam.stop());
  return { cam, frames, states, logLines };
}

describe('FfmpegCamera against a real RTSP server (fault injection)', () => {
  it('streams, goes offline when the server crashes, and streams again within 10 s of the server coming back', async () => {
    const srv = await server();
    const c = camera('crash', srv.url, { stallTimeoutMs: 4000 });
    c.cam.start();
    await waitUntil(() => c.frames.length >= 10, 'first frames', 30_000);
    expect(c.states[0]).toMatchObject({ state: 'online', code: 'OK', width: 320, height: 180 });
    expect(c.frames[0]!.data.length).toBe(320 * 180 * 3);

    await srv.kill();
    const killedAt = Date.now();
    // a crashed server closes the TCP connection: ffmpeg ends at once, well inside the stall timeout
    const down = await waitUntil(
      () => c.states.find((s) => s.state !== 'online'),
      'offline or stalled after the crash',
      4000 + 2000,
      50,
    );
    console.log(
      `[rtsp crash] ${down.state} ${down.code} (${down.reason ?? ''}) ${Date.now() - killedAt} ms after SIGKILL`,
    );
    expect(['offline', 'stalled']).toContain(down.state);
    // retries meet a closed port meanwhile
    await waitUntil(
      () => c.states.some((s) => s.code === 'UNREACHABLE'),
      'UNREACHABLE while the server is down',
      15_000,
      50,
    );

    const before = c.frames.length;
    await srv.restart();
    const backAt = Date.now();
    await waitUntil(() => c.frames.length > before + 5, 'frames again after the restart', 10_000, 50);
    console.log(
      `[rtsp crash] frames again ${Date.now() - backAt} ms after the server answered DESCRIBE again; restarts=${c.cam.restarts}`,
    );
    expect(c.states.at(-1)).toMatchObject({ state: 'online', code: 'OK' });
    expect(c.cam.state).toBe('online');
  }, 60_000);

  it('a frozen server (SIGSTOP) → stalled within the stall timeout; thawed → online again; a frozen ffmpeg needs SIGTERM to stop', async () => {
    const srv = await server();
    const c = camera('freeze', srv.url, { stallTimeoutMs: 3000 });
    c.cam.start();
    await waitUntil(() => c.frames.length >= 5, 'first frames', 30_000);

    srv.pause();
    const pausedAt = Date.now();
    // ffmpeg waits forever on a silent TCP connection: only the watchdog notices
    const stalled = await waitUntil(
      () => c.states.find((s) => s.state === 'stalled'),
      'stalled event',
      3000 + 5000,
      50,
    );
    console.log(`[rtsp freeze] stalled ${Date.now() - pausedAt} ms after SIGSTOP (stallTimeoutMs 3000)`);
    expect(stalled).toMatchObject({ code: 'STALLED', reason: 'no frame for 3 s' });
    // reconnects meet a server that accepts TCP but never answers: offline UNREACHABLE, not a decode error
    const noAnswer = await waitUntil(
      () => c.states.find((s) => s.state === 'offline'),
      'offline while frozen',
      20_000,
      50,
    );
    expect(noAnswer.code).toBe('UNREACHABLE');

    const before = c.frames.length;
    srv.resume();
    await waitUntil(() => c.frames.length > before + 5, 'frames after thaw', 20_000, 50);
    expect(c.cam.state).toBe('online');

    // polite stop while streaming: the quit key is enough (RTSP TEARDOWN, no signal)
    expect(await c.cam.stop()).toBe('quit');
    expect(c.states.at(-1)).toMatchObject({ state: 'offline', code: 'STOPPED' });

    // polite stop of an ffmpeg blocked on a frozen server: the quit key is not read, SIGTERM ends it
    const d = camera('freeze-stop', srv.url, { stallTimeoutMs: 30_000 });
    d.cam.start();
    await waitUntil(() => d.frames.length >= 3, 'frames on the second camera', 20_000, 50);
    srv.pause();
    await new Promise((r) => setTimeout(r, 500));
    expect(await d.cam.stop(1000)).toBe('sigterm');
    srv.resume();
  }, 60_000);

  it('wrong path → NOT_FOUND, wrong password → UNAUTHORIZED; the password is in no event and no log line', async () => {
    const srv = await server({ user: 'admin', password: PASSWORD });
    const wrongPath = camera('wrong-path', srv.urlWith('admin', PASSWORD).replace(/\/cam$/, '/nope'), {
      backoffInitialMs: 200,
      backoffMaxMs: 400,
    });
    const wrongPass = camera('wrong-pass', srv.urlWith('admin', `${PASSWORD}-old`), {
      backoffInitialMs: 200,
      backoffMaxMs: 400,
    });
    const noPass = camera('no-pass', srv.url, { backoffInitialMs: 200, backoffMaxMs: 400 });
    const right = camera('right', srv.urlWith('admin', PASSWORD));
    for (const c of [wrongPath, wrongPass, noPass, right]) c.cam.start();

    await waitUntil(
      () => right.frames.length >= 3 && [wrongPath, wrongPass, noPass].every((c) => c.cam.restarts >= 2),
      'frames from the right camera and retries of the others',
      30_000,
      50,
    );
    for (const c of [wrongPath, wrongPass, noPass, right]) await c.cam.stop();

    expect(right.states[0]).toMatchObject({ state: 'online', code: 'OK' });
    expect(wrongPath.states[0]).toMatchObject({ state: 'offline', code: 'NOT_FOUND' });
    expect(wrongPath.states[0]!.reason).toContain('404 Not Found');
    for (const c of [wrongPass, noPass]) {
      expect(c.states[0]).toMatchObject({ state: 'offline', code: 'UNAUTHORIZED' });
      expect(c.states[0]!.reason).toContain('401 Unauthorized');
    }
    // failing the same way at every retry: one event, not one per retry
    expect(wrongPass.states.filter((s) => s.code === 'UNAUTHORIZED')).toHaveLength(1);

    const secrets = [PASSWORD, encodeURIComponent(PASSWORD), `${PASSWORD}-old`, encodeURIComponent(`${PASSWORD}-old`)];
    for (const c of [wrongPath, wrongPass, noPass, right]) {
      const everything = [...c.logLines, ...c.states.map((s) => JSON.stringify(s))].join('\n');
      expect(c.logLines.length).toBeGreaterThan(0);
      for (const s of secrets) expect(everything).not.toContain(s);
    }
    // the redacted URL is what the logs name
    expect(wrongPass.logLines.join('\n')).toContain('rtsp://***@127.0.0.1');
  }, 60_000);
});
