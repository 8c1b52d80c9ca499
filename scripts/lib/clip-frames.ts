// One-shot decoding of a video file to BGR24 frames for the offline tools (scripts/track.ts,
// scripts/bench-tracking.ts): ffmpeg reads the whole file as fast as it can (no -re, unlike the
// agent's supervised camera), and frames come out of an async generator, so the consumer's pace
// holds ffmpeg back through the pipe instead of filling memory. Nothing is written to disk.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { classifyFfmpegFailure } from '../../edge-agent/src/camera/ffmpeg-args.js';
import { FrameAssembler } from '../../edge-agent/src/camera/frame-assembler.js';
import type { Frame } from '@portail/vision/types.js';

export interface ClipInfo {
  path: string;
  width: number;
  height: number;
  /** frames per second of the video stream (its r_frame_rate) */
  fps: number;
}

export type ClipResult<T> =
  { ok: true; value: T } | { ok: false; error: { code: 'NOT_FOUND' | 'NOT_A_VIDEO'; message: string } };

const STDERR_TAIL_MAX = 4 * 1024;

export class ClipDecodeError extends Error {
  readonly code = 'CLIP_ERR_DECODE';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ClipDecodeError';
  }
}

/** Size and frame rate of the first video stream, or why the file cannot be read as a video. */
export function probeClip(path: string, ffprobePath = process.env.FFPROBE_PATH ?? 'ffprobe'): ClipResult<ClipInfo> {
  if (!existsSync(path) || !statSync(path).isFile()) {
    return { ok: false, error: { code: 'NOT_FOUND', message: `no such video file: ${path}` } };
  }
  const probe = spawnSync(
    ffprobePath,
    [
      '-v',
      'error',
      '-select_streams',
      'v:0',
      '-show_entries',
      'stream=width,height,r_frame_rate',
      '-of',
      'csv=p=0',
      path,
    ],
    { encoding: 'utf8' },
  );
  if (probe.error) throw new ClipDecodeError(`cannot run ${ffprobePath}`, { cause: probe.error });
  const [w, h, rate] = probe.stdout.trim().split('\n')[0]?.split(',') ?? [];
  const [num, den] = (rate ?? '').split('/').map(Number);
  const width = Number(w);
  const height = Number(h);
  const fps = den ? num! / den : Number(num);
  if (probe.status !== 0 || !(width > 0 && height > 0 && fps > 0)) {
    const reason = probe.stderr.trim().split('\n').pop() || 'no video stream';
    return { ok: false, error: { code: 'NOT_A_VIDEO', message: `cannot read ${path} as a video: ${reason}` } };
  }
  return { ok: true, value: { path, width, height, fps } };
}

export interface ReadClipOptions {
  /** stop after this many frames (ffmpeg is told too, so it stops decoding) */
  maxFrames?: number;
  cameraId?: string;
  /** capture time of frame 0 (ms since epoch); later frames follow at the clip's frame rate */
  startMs?: number;
  ffmpegPath?: string;
}

/**
 * Frames of the clip in order, timestamped at the clip's own rate (video time, not wall time: the
 * file is read faster than real time). Stopping the iteration early kills ffmpeg.
 */
export async function* readClipFrames(
  info: ClipInfo,
  opts: ReadClipOptions = {},
): AsyncGenerator<Frame, void, undefined> {
  const { width, height, fps } = info;
  const args = ['-hide_banner', '-nostdin', '-loglevel', 'error', '-i', info.path, '-an', '-sn', '-dn'];
  if (opts.maxFrames !== undefined) args.push('-frames:v', String(opts.maxFrames));
  args.push('-f', 'rawvideo', '-pix_fmt', 'bgr24', 'pipe:1');
  const child = spawn(opts.ffmpegPath ?? process.env.FFMPEG_PATH ?? 'ffmpeg', args, {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderrTail = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (s: string) => {
    stderrTail = (stderrTail + s).slice(-STDERR_TAIL_MAX);
  });
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve(code));
  });
  // keep the rejection for the awaiting code below, not as an unhandled one
  exited.catch(() => undefined);

  const ready: Uint8Array[] = [];
  const assembler = new FrameAssembler(width * height * 3, (data) => ready.push(data));
  const frameMs = 1000 / fps;
  const startMs = opts.startMs ?? 0;
  let seq = 0;
  try {
    for await (const chunk of child.stdout) {
      assembler.push(chunk as Buffer);
      while (ready.length > 0) {
        const data = ready.shift()!;
        yield {
          cameraId: opts.cameraId ?? 'clip',
          seq,
          tsMs: startMs + Math.round(seq * frameMs),
          width,
          height,
          data,
        };
        seq++;
        if (opts.maxFrames !== undefined && seq >= opts.maxFrames) return;
      }
    }
    const code = await exited;
    if (code !== 0) {
      const { reason } = classifyFfmpegFailure(stderrTail, code);
      throw new ClipDecodeError(`ffmpeg failed on ${info.path}: ${reason}`);
    }
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}
