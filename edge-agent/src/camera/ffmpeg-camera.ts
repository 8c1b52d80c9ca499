import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import type { Logger } from 'pino';
import type { Frame } from '../vision/types.js';
import { buildFfmpegArgs, classifyFfmpegFailure, parseOutputSize, redactUrl, safeArgs, type CameraSource } from './ffmpeg-args.js';
import { FrameAssembler } from './frame-assembler.js';

export type CameraState = 'starting' | 'online' | 'offline' | 'stalled';
export type CameraStateCode = 'OK' | 'NOT_FOUND' | 'UNREACHABLE' | 'UNAUTHORIZED' | 'STALLED' | 'DECODE_ERROR' | 'ENDED' | 'STOPPED';

export interface CameraStateChange {
  state: Exclude<CameraState, 'starting'>;
  code: CameraStateCode;
  reason?: string;
  width?: number;
  height?: number;
}

export interface FfmpegCameraOptions {
  id: string;
  source: CameraSource;
  ffmpegPath?: string;
  /** no frame for this long while running → `stalled`, ffmpeg restarted */
  stallTimeoutMs?: number;
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  logger: Logger;
  onFrame: (frame: Frame) => void;
  onState: (change: CameraStateChange) => void;
}

const STDERR_HEADER_MAX = 64 * 1024;
const STDERR_TAIL_MAX = 4 * 1024;

/**
 * One camera: a supervised ffmpeg child decoding to BGR24 frames on a pipe. Restarts with
 * exponential backoff and jitter, watches for stalls, reports state changes (never credentials).
 */
export class FfmpegCamera {
  private child: ChildProcessWithoutNullStreams | undefined;
  private stopping = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private backoffMs: number;
  private lastFrameAt = 0;
  private lastEmitted: { state: string; code: string } | undefined;
  private seq = 0;
  state: CameraState = 'starting';
  framesIn = 0;
  restarts = 0;
  width = 0;
  height = 0;

  constructor(private readonly opts: FfmpegCameraOptions) {
    this.backoffMs = opts.backoffInitialMs ?? 1000;
  }

  get id(): string {
    return this.opts.id;
  }

  start(): void {
    this.stopping = false;
    this.spawnOnce();
  }

  private emit(change: CameraStateChange): void {
    this.state = change.state;
    // a camera that keeps failing the same way reports it once, not at every retry
    if (this.lastEmitted?.state === change.state && this.lastEmitted.code === change.code) return;
    this.lastEmitted = { state: change.state, code: change.code };
    this.opts.onState(change);
  }

  private spawnOnce(): void {
    const { logger, source } = this.opts;
    const args = buildFfmpegArgs(source);
    logger.debug({ args: safeArgs(args) }, 'starting ffmpeg');
    const child = spawn(this.opts.ffmpegPath ?? 'ffmpeg', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child = child;
    let header = '';
    let tail = '';
    let assembler: FrameAssembler | undefined;
    const early: Buffer[] = [];
    let spawnError: Error | undefined;

    const onFrameBytes = (data: Uint8Array) => {
      this.framesIn++;
      this.lastFrameAt = Date.now();
      if (this.state !== 'online') {
        this.backoffMs = this.opts.backoffInitialMs ?? 1000;
        this.emit({ state: 'online', code: 'OK', width: this.width, height: this.height });
      }
      this.opts.onFrame({ cameraId: this.opts.id, seq: this.seq++, tsMs: this.lastFrameAt, width: this.width, height: this.height, data });
    };

    const ensureAssembler = () => {
      if (assembler) return;
      const size = parseOutputSize(header);
      if (!size) return;
      this.width = size.width;
      this.height = size.height;
      assembler = new FrameAssembler(size.width * size.height * 3, onFrameBytes);
      for (const b of early.splice(0)) assembler.push(b);
    };

    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (s: string) => {
      if (!assembler && header.length < STDERR_HEADER_MAX) {
        header += s;
        ensureAssembler();
      }
      tail = (tail + s).slice(-STDERR_TAIL_MAX);
    });
    child.stdout.on('data', (chunk: Buffer) => {
      if (assembler) assembler.push(chunk);
      else {
        early.push(chunk);
        ensureAssembler();
      }
    });
    child.stdin.on('error', () => {
      // ffmpeg may exit before reading the quit key; the exit handler deals with it
    });
    child.on('error', (err) => {
      spawnError = err;
    });
    child.on('close', (exitCode) => {
      this.child = undefined;
      this.clearWatchdog();
      if (this.stopping) return;
      const failure = spawnError
        ? { code: 'UNREACHABLE' as const, reason: `cannot run ffmpeg: ${spawnError.message}` }
        : classifyFfmpegFailure(tail, exitCode);
      if (this.state !== 'stalled') this.emit({ state: 'offline', code: failure.code, reason: failure.reason });
      logger.warn({ code: failure.code, reason: failure.reason, exitCode, url: redactUrl(source.url) }, 'camera stopped');
      if (failure.code === 'ENDED' && !source.loop && !/^rtsps?:/i.test(source.url)) return;
      this.scheduleRestart();
    });
    this.armWatchdog();
  }

  private armWatchdog(): void {
    const stallMs = this.opts.stallTimeoutMs ?? 10_000;
    this.lastFrameAt = Date.now();
    this.clearWatchdog();
    this.watchdog = setInterval(() => {
      if (!this.child || this.stopping) return;
      if (Date.now() - this.lastFrameAt > stallMs) {
        this.opts.logger.warn({ stallMs }, 'camera stalled, restarting ffmpeg');
        this.emit({ state: 'stalled', code: 'STALLED', reason: `no frame for ${Math.round(stallMs / 1000)} s` });
        this.clearWatchdog();
        this.child.kill('SIGKILL');
      }
    }, Math.min(1000, stallMs / 2));
    this.watchdog.unref();
  }

  private clearWatchdog(): void {
    if (this.watchdog) clearInterval(this.watchdog);
    this.watchdog = undefined;
  }

  private scheduleRestart(): void {
    const maxMs = this.opts.backoffMaxMs ?? 30_000;
    // full jitter around the current step, so cameras of a box that failed together do not retry together
    const delay = Math.round(this.backoffMs * (0.5 + Math.random() * 0.5));
    this.backoffMs = Math.min(maxMs, this.backoffMs * 2);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.stopping) return;
      this.restarts++;
      this.spawnOnce();
    }, delay);
  }

  /** Quit key first (clean RTSP TEARDOWN), then SIGTERM, then SIGKILL. */
  async stop(graceMs = 1500): Promise<void> {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.clearWatchdog();
    const child = this.child;
    if (child) {
      const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
      const within = (ms: number) => Promise.race([exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms))]);
      child.stdin.end('q');
      if (!(await within(graceMs))) {
        child.kill('SIGTERM');
        if (!(await within(graceMs))) {
          child.kill('SIGKILL');
          await exited;
        }
      }
    }
    this.emit({ state: 'offline', code: 'STOPPED', reason: 'agent stopping' });
  }
}
