import { spawn } from 'node:child_process';
import type { Frame } from '@portail/vision/types.js';
import { fail, ok, type Result } from '../people/result.js';
import { ffmpegInputArgs, scrubSecrets, type CameraSource } from './camera-url.js';
import { PpmParseError, splitPpmStream, type RgbImage } from './ppm-stream.js';

/**
 * Grab a few decoded frames from a camera with ffmpeg, in memory: frames arrive as PPM on a pipe,
 * become BGR24 `Frame`s (what the vision code takes), and are never written anywhere. A local file
 * (demo, tests) is read from a random offset, so successive snapshots differ like a live camera's.
 */

export type GrabErrorCode = 'CAMERA_ERR_FFMPEG_MISSING' | 'CAMERA_ERR_UNREACHABLE' | 'CAMERA_ERR_TIMEOUT';

export interface GrabOptions {
  ffmpegPath: string;
  /** frames wanted (default 1) */
  count?: number;
  /** frames per second sampled when count > 1 (default 4) */
  sampleFps?: number;
  timeoutMs: number;
  /** bound on what ffmpeg may write (default 64 MiB) */
  maxBytes?: number;
  /** file sources: seek here instead of a random offset */
  seekS?: number;
  /** for tests: a deterministic stand-in for Math.random */
  random?: () => number;
}

export interface ProcessResult {
  code: number | null;
  stdout: Uint8Array;
  stderr: string;
  spawnError: NodeJS.ErrnoException | null;
  timedOut: boolean;
}

/** Run a tool to completion with a timeout and an output bound; never rejects. */
export function runTool(
  file: string,
  args: readonly string[],
  o: { timeoutMs: number; maxBytes: number; onStdout?: (chunk: Buffer) => boolean },
): Promise<ProcessResult> {
  return new Promise((resolve) => {
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    let bytes = 0;
    let stderr = '';
    let spawnError: NodeJS.ErrnoException | null = null;
    let timedOut = false;
    let settled = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, o.timeoutMs);
    child.stdout.on('data', (c: Buffer) => {
      bytes += c.length;
      if (bytes > o.maxBytes) {
        child.kill('SIGKILL');
        return;
      }
      chunks.push(c);
      // the caller has what it needs: stop ffmpeg now rather than decode on
      if (o.onStdout?.(c)) child.kill('SIGKILL');
    });
    child.stderr.on('data', (c: Buffer) => {
      if (stderr.length < 8192) stderr += c.toString('utf8');
    });
    const finish = (code: number | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const stdout = new Uint8Array(Buffer.concat(chunks));
      for (const c of chunks) c.fill(0);
      resolve({ code, stdout, stderr, spawnError, timedOut });
    };
    child.on('error', (err: NodeJS.ErrnoException) => {
      spawnError = err;
      finish(null);
    });
    child.on('close', (code) => finish(code));
  });
}

export function ffprobePathFor(ffmpegPath: string): string {
  return /ffmpeg$/.test(ffmpegPath) ? ffmpegPath.replace(/ffmpeg$/, 'ffprobe') : 'ffprobe';
}

/** Duration in seconds of a local video file, or null when ffprobe cannot tell. */
async function fileDurationS(path: string, ffmpegPath: string, timeoutMs: number): Promise<number | null> {
  const r = await runTool(
    ffprobePathFor(ffmpegPath),
    [
      '-v',
      'error',
      '-protocol_whitelist',
      'file',
      '-show_entries',
      'format=duration',
      '-of',
      'csv=p=0',
      `file:${path}`,
    ],
    { timeoutMs, maxBytes: 4096 },
  );
  if (r.code !== 0) return null;
  const d = Number.parseFloat(new TextDecoder().decode(r.stdout).trim());
  return Number.isFinite(d) && d > 0 ? d : null;
}

/** The last meaningful line of ffmpeg's stderr, credentials removed: the reason shown to the admin. */
export function ffmpegReason(stderr: string, url: string | null): string {
  const lines = stderr
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
  const last = lines.at(-1) ?? 'ffmpeg produced no frame';
  const clipped = last.length > 300 ? `${last.slice(0, 300)}…` : last;
  return url ? scrubSecrets(clipped, url) : clipped;
}

function toBgrFrame(img: RgbImage, cameraId: string, seq: number): Frame {
  const d = img.data;
  for (let i = 0; i < d.length; i += 3) {
    const r = d[i]!;
    d[i] = d[i + 2]!;
    d[i + 2] = r;
  }
  return { cameraId, seq, tsMs: Date.now(), width: img.width, height: img.height, data: d };
}

export async function grabFrames(
  source: CameraSource,
  /** the clear URL, only to scrub it from error messages */
  url: string | null,
  cameraId: string,
  o: GrabOptions,
): Promise<Result<Frame[], GrabErrorCode>> {
  const count = o.count ?? 1;
  let seekS: number | undefined;
  if (source.kind === 'file') {
    if (o.seekS !== undefined) seekS = o.seekS;
    else {
      const duration = await fileDurationS(source.path, o.ffmpegPath, o.timeoutMs);
      // leave room for the frames wanted before the end of the file
      const span = duration === null ? 0 : Math.max(0, duration - count / (o.sampleFps ?? 4) - 0.5);
      seekS = span * (o.random ?? Math.random)();
    }
  }
  const args = [
    '-hide_banner',
    '-nostdin',
    '-loglevel',
    'error',
    ...ffmpegInputArgs(source, seekS !== undefined ? { seekS } : {}),
    '-an',
    ...(count > 1 ? ['-vf', `fps=${o.sampleFps ?? 4}`] : []),
    '-frames:v',
    String(count),
    '-f',
    'image2pipe',
    '-c:v',
    'ppm',
    'pipe:1',
  ];
  const r = await runTool(o.ffmpegPath, args, { timeoutMs: o.timeoutMs, maxBytes: o.maxBytes ?? 64 * 1024 * 1024 });
  if (r.spawnError) {
    return r.spawnError.code === 'ENOENT'
      ? fail(
          'CAMERA_ERR_FFMPEG_MISSING',
          `ffmpeg not found (${o.ffmpegPath}): install it (Debian: apt-get install ffmpeg)`,
        )
      : fail('CAMERA_ERR_UNREACHABLE', `ffmpeg could not start: ${r.spawnError.message}`);
  }
  let images: RgbImage[];
  try {
    images = splitPpmStream(r.stdout).images;
  } catch (err) {
    if (!(err instanceof PpmParseError)) throw err;
    r.stdout.fill(0);
    return fail('CAMERA_ERR_UNREACHABLE', `unreadable frames from ffmpeg: ${err.message}`);
  }
  r.stdout.fill(0);
  if (images.length === 0) {
    if (r.timedOut) return fail('CAMERA_ERR_TIMEOUT', `no frame from the camera within ${o.timeoutMs} ms`);
    return fail('CAMERA_ERR_UNREACHABLE', ffmpegReason(r.stderr, url));
  }
  return ok(images.map((img, i) => toBgrFrame(img, cameraId, i)));
}
