import { spawn, type ChildProcess } from 'node:child_process';
import type { Logger } from 'pino';
import { ffmpegInputArgs, scrubSecrets, type CameraSource } from './camera-url.js';
import { ffmpegReason } from './frame-grab.js';
import { splitJpegStream } from './ppm-stream.js';

/**
 * The live preview relay: one ffmpeg per camera, started by its first viewer and stopped when the
 * last one leaves, decoding the camera and re-encoding it as MJPEG at a low frame rate; each JPEG
 * goes to every viewer (the WebSocket route, camera-routes.ts, sends it as one binary message).
 * Frames are relayed, never kept. Faces are not blurred here (docs/privacy.md says why and who may
 * watch); each viewing is audited by the route.
 */

export interface PreviewViewer {
  /** a frame for this viewer; it may drop it if it is behind */
  frame(jpeg: Uint8Array): void;
  /** the stream ended for every viewer (camera lost, server closing) */
  end(reason: {
    code: 'CAMERA_ERR_UNREACHABLE' | 'CAMERA_ERR_FFMPEG_MISSING' | 'SERVER_CLOSING';
    message: string;
  }): void;
}

export interface PreviewRelayOptions {
  ffmpegPath: string;
  /** frames per second sent to viewers (default 5) */
  fps?: number;
  /** frames wider than this are scaled down (default 960) */
  maxWidthPx?: number;
  /** MJPEG quantiser, 2 (best) to 31 (default 7) */
  jpegQ?: number;
  logger?: Logger;
  /** after `q` on stdin, how long before SIGTERM, then as long again before SIGKILL (default 1500 ms) */
  stopGraceMs?: number;
}

export interface PreviewStreamInfo {
  key: string;
  pid: number | null;
  viewers: number;
  frames: number;
}

interface Stream {
  key: string;
  child: ChildProcess;
  viewers: Set<PreviewViewer>;
  frames: number;
  stderr: string;
  stopping: boolean;
}

export function previewArgs(
  source: CameraSource,
  o: Required<Pick<PreviewRelayOptions, 'fps' | 'maxWidthPx' | 'jpegQ'>>,
): string[] {
  return [
    '-hide_banner',
    '-loglevel',
    'error',
    // a file plays at its own pace, in a loop, like a camera
    ...ffmpegInputArgs(source, { realtime: true }),
    '-an',
    '-vf',
    `fps=${o.fps},scale='min(${o.maxWidthPx},iw)':-2`,
    '-q:v',
    String(o.jpegQ),
    '-f',
    'mjpeg',
    'pipe:1',
  ];
}

/**
 * Stop ffmpeg politely: `q` on stdin (it closes the RTSP session with a TEARDOWN), then SIGTERM,
 * then SIGKILL. Resolves when the process has exited.
 */
export function stopFfmpeg(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timers: NodeJS.Timeout[] = [];
    child.once('close', () => {
      for (const t of timers) clearTimeout(t);
      resolve();
    });
    try {
      child.stdin?.end('q');
    } catch {
      // stdin already closed: the signals below still stop it
    }
    timers.push(setTimeout(() => child.kill('SIGTERM'), graceMs));
    timers.push(setTimeout(() => child.kill('SIGKILL'), 2 * graceMs));
  });
}

export function createPreviewRelay(opts: PreviewRelayOptions) {
  const fmt = { fps: opts.fps ?? 5, maxWidthPx: opts.maxWidthPx ?? 960, jpegQ: opts.jpegQ ?? 7 };
  const graceMs = opts.stopGraceMs ?? 1500;
  const streams = new Map<string, Stream>();
  const stopping = new Set<Promise<void>>();
  const logger = opts.logger;

  const stop = (s: Stream) => {
    if (s.stopping) return;
    s.stopping = true;
    streams.delete(s.key);
    const p = stopFfmpeg(s.child, graceMs).then(() => {
      stopping.delete(p);
      logger?.info({ camera: s.key, frames: s.frames }, 'preview stream stopped');
    });
    stopping.add(p);
  };

  const start = (key: string, source: CameraSource, url: string | null): Stream => {
    const child = spawn(opts.ffmpegPath, previewArgs(source, fmt), { stdio: ['pipe', 'pipe', 'pipe'] });
    const s: Stream = { key, child, viewers: new Set(), frames: 0, stderr: '', stopping: false };
    let pending: Uint8Array = new Uint8Array(0);
    child.stdout.on('data', (chunk: Buffer) => {
      const buf = pending.length === 0 ? new Uint8Array(chunk) : concat(pending, chunk);
      const { jpegs, rest } = splitJpegStream(buf);
      // a copy: `rest` may be a view into a chunk Node reuses
      pending = rest.length > 4 * 1024 * 1024 ? new Uint8Array(0) : rest.slice();
      for (const j of jpegs) {
        s.frames++;
        for (const v of s.viewers) v.frame(j);
      }
    });
    child.stderr.on('data', (c: Buffer) => {
      if (s.stderr.length < 8192) s.stderr += c.toString('utf8');
    });
    child.stdin.on('error', () => {
      // EPIPE when ffmpeg already exited: the close handler reports it
    });
    const endAll = (reason: Parameters<PreviewViewer['end']>[0]) => {
      for (const v of [...s.viewers]) v.end(reason);
      s.viewers.clear();
    };
    child.on('error', (err: NodeJS.ErrnoException) => {
      streams.delete(key);
      endAll(
        err.code === 'ENOENT'
          ? { code: 'CAMERA_ERR_FFMPEG_MISSING', message: `ffmpeg not found (${opts.ffmpegPath})` }
          : { code: 'CAMERA_ERR_UNREACHABLE', message: `ffmpeg could not start: ${err.message}` },
      );
    });
    child.on('close', (code, signal) => {
      if (streams.get(key) === s) streams.delete(key);
      if (s.stopping) return;
      const reason = ffmpegReason(s.stderr, url);
      logger?.warn(
        { camera: key, code, signal, reason: url ? scrubSecrets(reason, url) : reason },
        'preview stream ended',
      );
      endAll({ code: 'CAMERA_ERR_UNREACHABLE', message: `the camera stream ended: ${reason}` });
    });
    logger?.info({ camera: key, pid: child.pid }, 'preview stream started');
    return s;
  };

  return {
    /** Add a viewer of camera `key`, starting its stream if needed; `leave()` stops it with the last viewer. */
    join(key: string, source: CameraSource, url: string | null, viewer: PreviewViewer): { leave(): void } {
      let s = streams.get(key);
      if (!s) {
        s = start(key, source, url);
        streams.set(key, s);
      }
      const stream = s;
      stream.viewers.add(viewer);
      return {
        leave() {
          if (!stream.viewers.delete(viewer)) return;
          if (stream.viewers.size === 0) stop(stream);
        },
      };
    },
    streams(): PreviewStreamInfo[] {
      return [...streams.values()].map((s) => ({
        key: s.key,
        pid: s.child.pid ?? null,
        viewers: s.viewers.size,
        frames: s.frames,
      }));
    },
    /** end every stream (server shutdown) and wait for the ffmpeg processes to exit */
    async close(): Promise<void> {
      for (const s of [...streams.values()]) {
        for (const v of [...s.viewers]) v.end({ code: 'SERVER_CLOSING', message: 'the server is stopping' });
        s.viewers.clear();
        stop(s);
      }
      await Promise.all([...stopping]);
    },
  };
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

export type PreviewRelay = ReturnType<typeof createPreviewRelay>;
