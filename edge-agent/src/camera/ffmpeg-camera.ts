import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import type { Logger } from 'pino';
import type { Frame } from '@portail/vision/types.js';
import {
  buildFfmpegArgs,
  classifyFfmpegFailure,
  isRtsp,
  parseOutputSize,
  redactSecrets,
  redactUrl,
  safeArgs,
  type CameraSource,
} from './ffmpeg-args.js';
import { FrameAssembler } from './frame-assembler.js';

export type CameraState = 'starting' | 'online' | 'offline' | 'stalled';
export type CameraStateCode =
  'OK' | 'NOT_FOUND' | 'UNREACHABLE' | 'UNAUTHORIZED' | 'STALLED' | 'DECODE_ERROR' | 'ENDED' | 'STOPPED';

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
  /** no frame for this long after frames were flowing → `stalled`, ffmpeg killed and restarted (default 10 s) */
  stallTimeoutMs?: number;
  /**
   * no first frame this long after ffmpeg started → `offline`, killed and restarted. Longer than
   * the stall timeout: ffmpeg probes ~20 frames before it outputs one, 4 s at 5 fps (default
   * max(20 s, stallTimeoutMs))
   */
  firstFrameTimeoutMs?: number;
  /** first retry delay; doubles at each failure in a row, reset by a frame (default 1 s) */
  backoffInitialMs?: number;
  /**
   * longest retry delay (default 6 s): a camera that comes back streams again within this plus
   * ffmpeg's connect and probe (~2-3 s), so under 10 s; a dead one costs one ffmpeg start every
   * 3-6 s
   */
  backoffMaxMs?: number;
  logger: Logger;
  onFrame: (frame: Frame) => void;
  onState: (change: CameraStateChange) => void;
}

const STDERR_HEADER_MAX = 64 * 1024;
const STDERR_TAIL_MAX = 4 * 1024;
const DEFAULT_STALL_MS = 10_000;
const DEFAULT_BACKOFF_INITIAL_MS = 1000;
const DEFAULT_BACKOFF_MAX_MS = 6000;
const SECOND_SIGTERM_AFTER_MS = 100;

/** Which step of the polite stop ended ffmpeg. */
export type StopOutcome = 'quit' | 'sigterm' | 'sigkill' | 'not-running';

/** Why the supervisor killed the running ffmpeg, if it did. */
type KillCause = 'stall' | 'no-first-frame' | undefined;

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
  private framesThisRun = 0;
  private killCause: KillCause;
  private lastEmitted: { state: string; code: string } | undefined;
  private lastLoggedFailure: string | undefined;
  private seq = 0;
  state: CameraState = 'starting';
  framesIn = 0;
  restarts = 0;
  width = 0;
  height = 0;

  constructor(private readonly opts: FfmpegCameraOptions) {
    this.backoffMs = opts.backoffInitialMs ?? DEFAULT_BACKOFF_INITIAL_MS;
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
    this.framesThisRun = 0;
    this.killCause = undefined;
    let header = '';
    let tail = '';
    let assembler: FrameAssembler | undefined;
    const early: Buffer[] = [];
    let spawnError: Error | undefined;

    const onFrameBytes = (data: Uint8Array) => {
      this.framesIn++;
      this.framesThisRun++;
      this.lastFrameAt = Date.now();
      if (this.state !== 'online') {
        this.backoffMs = this.opts.backoffInitialMs ?? DEFAULT_BACKOFF_INITIAL_MS;
        this.lastLoggedFailure = undefined;
        logger.debug({ width: this.width, height: this.height, restarts: this.restarts }, 'first frame');
        this.emit({ state: 'online', code: 'OK', width: this.width, height: this.height });
      }
      this.opts.onFrame({
        cameraId: this.opts.id,
        seq: this.seq++,
        tsMs: this.lastFrameAt,
        width: this.width,
        height: this.height,
        data,
      });
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
      // ffmpeg may exit before reading the quit key; the close handler deals with it
    });
    child.on('error', (err) => {
      spawnError = err;
    });
    child.on('close', (exitCode, signal) => {
      this.child = undefined;
      this.clearWatchdog();
      if (this.stopping) return;
      const cause = this.killCause;
      const failure = this.describeFailure(spawnError, tail, exitCode, {
        opened: assembler !== undefined || header.includes('Input #0'),
        cause,
      });
      // the stall was reported when it was detected; this close is its consequence
      if (cause !== 'stall') this.emit({ state: 'offline', code: failure.code, reason: failure.reason });
      const restart = !(failure.code === 'ENDED' && !source.loop && !isRtsp(source.url));
      const delayMs = restart ? this.nextDelayMs() : undefined;
      // a camera that keeps failing the same way is logged once at warn, then at debug
      const key = `${failure.code}:${failure.reason}`;
      const level = key === this.lastLoggedFailure ? 'debug' : 'warn';
      this.lastLoggedFailure = key;
      logger[level](
        {
          code: failure.code,
          reason: failure.reason,
          exitCode,
          signal,
          framesThisRun: this.framesThisRun,
          retryInMs: delayMs,
          url: redactUrl(source.url),
        },
        'ffmpeg exited',
      );
      if (delayMs !== undefined) this.scheduleRestart(delayMs);
    });
    this.armWatchdog();
  }

  private describeFailure(
    spawnError: Error | undefined,
    tail: string,
    exitCode: number | null,
    ctx: { opened: boolean; cause: KillCause },
  ): { code: CameraStateCode; reason: string } {
    const url = this.opts.source.url;
    if (spawnError) return { code: 'UNREACHABLE', reason: `cannot run ffmpeg: ${spawnError.message}` };
    const classified = classifyFfmpegFailure(tail, exitCode, { rtsp: isRtsp(url), opened: ctx.opened });
    if (ctx.cause === 'no-first-frame' && (classified.code === 'ENDED' || classified.code === 'DECODE_ERROR')) {
      // killed while connecting or probing, so stderr has no verdict of its own
      const s = Math.round(this.firstFrameTimeoutMs() / 1000);
      return {
        code: 'UNREACHABLE',
        reason: ctx.opened ? `stream opened but no frame within ${s} s` : `no answer within ${s} s`,
      };
    }
    // last-resort scrub: the password may be quoted outside a URL
    return { code: classified.code, reason: redactSecrets(classified.reason, url) };
  }

  private stallTimeoutMs(): number {
    return this.opts.stallTimeoutMs ?? DEFAULT_STALL_MS;
  }

  private firstFrameTimeoutMs(): number {
    return this.opts.firstFrameTimeoutMs ?? Math.max(20_000, this.stallTimeoutMs());
  }

  /**
   * One timer per run: before the first frame it waits `firstFrameTimeoutMs` (ffmpeg's own socket
   * timeout usually ends a dead connection first); after it, `stallTimeoutMs`. ffmpeg reading a
   * frozen RTSP server over TCP never times out by itself, so this is what ends it.
   */
  private armWatchdog(): void {
    this.lastFrameAt = Date.now();
    this.clearWatchdog();
    const tickMs = Math.min(1000, this.stallTimeoutMs() / 2);
    this.watchdog = setInterval(() => {
      const child = this.child;
      if (!child || this.stopping) return;
      const streaming = this.framesThisRun > 0;
      const limitMs = streaming ? this.stallTimeoutMs() : this.firstFrameTimeoutMs();
      if (Date.now() - this.lastFrameAt <= limitMs) return;
      this.clearWatchdog();
      this.killCause = streaming ? 'stall' : 'no-first-frame';
      if (streaming) {
        this.opts.logger.warn({ stallMs: limitMs }, 'camera stalled, restarting ffmpeg');
        this.emit({ state: 'stalled', code: 'STALLED', reason: `no frame for ${Math.round(limitMs / 1000)} s` });
      }
      child.kill('SIGKILL');
    }, tickMs);
    this.watchdog.unref();
  }

  private clearWatchdog(): void {
    if (this.watchdog) clearInterval(this.watchdog);
    this.watchdog = undefined;
  }

  /** The next retry delay: exponential, capped, with jitter so cameras that failed together do not retry together. */
  private nextDelayMs(): number {
    const maxMs = this.opts.backoffMaxMs ?? DEFAULT_BACKOFF_MAX_MS;
    const delay = Math.round(this.backoffMs * (0.5 + Math.random() * 0.5));
    this.backoffMs = Math.min(maxMs, this.backoffMs * 2);
    return delay;
  }

  private scheduleRestart(delayMs: number): void {
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.stopping) return;
      this.restarts++;
      this.spawnOnce();
    }, delayMs);
  }

  /**
   * Quit key first (ffmpeg sends an RTSP TEARDOWN and closes cleanly), then SIGTERM, then SIGKILL,
   * each after `graceMs`. Resolves with the step that ended ffmpeg.
   *
   * ffmpeg reads the quit key only between packets, and once streaming it treats a first SIGTERM
   * as "finish after this packet" too: blocked on a frozen camera it ignores both. A second
   * signal makes its blocking I/O return, so SIGTERM is sent twice; it then closes normally.
   */
  async stop(graceMs = 1500): Promise<StopOutcome> {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    this.clearWatchdog();
    const child = this.child;
    let outcome: StopOutcome = 'not-running';
    if (child) {
      const exited = new Promise<true>((resolve) => child.once('close', () => resolve(true)));
      const within = async (ms: number): Promise<boolean> => {
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
        const r = await Promise.race([exited, late]);
        clearTimeout(timer);
        return r;
      };
      child.stdin.end('q');
      outcome = 'quit';
      if (!(await within(graceMs))) {
        outcome = 'sigterm';
        child.kill('SIGTERM');
        // apart, so the kernel does not merge them into one pending signal
        if (!(await within(SECOND_SIGTERM_AFTER_MS))) child.kill('SIGTERM');
        if (!(await within(graceMs))) {
          outcome = 'sigkill';
          child.kill('SIGKILL');
          await exited;
        }
      }
      this.opts.logger.debug({ outcome }, 'ffmpeg stopped');
    }
    this.emit({ state: 'offline', code: 'STOPPED', reason: 'agent stopping' });
    return outcome;
  }
}
