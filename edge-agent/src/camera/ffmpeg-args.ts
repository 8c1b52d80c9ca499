/** A camera source: a file (looped or not, read at native rate) or an RTSP URL (always over TCP). */
export interface CameraSource {
  url: string;
  /** files only: loop forever (demo, soak tests) */
  loop?: boolean;
  /** cap of frames per second delivered to the pipeline (decoder drops the rest) */
  maxFps?: number | undefined;
  /** output size; when absent the native size is kept */
  width?: number | undefined;
  height?: number | undefined;
  /** extra input arguments (hardware decoding presets etc.), inserted before -i */
  inputArgs?: readonly string[];
}

export function isRtsp(url: string): boolean {
  return /^rtsps?:\/\//i.test(url);
}

const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/'"]*@/gi;

/**
 * Replace the user:password part of every URL in a text (an argument, an ffmpeg stderr line) so it
 * can be logged or published. Greedy up to the last `@` before the path, so a password holding a
 * raw `@` or `:` is removed whole.
 */
export function redactUrl(text: string): string {
  return text.replace(URL_USERINFO, '$1***@');
}

/**
 * The password of a URL (raw and percent-decoded), for a last-resort scrub of text that may quote
 * it outside a URL. Secrets shorter than 4 characters are left out: scrubbing "1"
 * from "401 Unauthorized" would garble every message and protect nothing.
 */
export function urlSecrets(url: string): string[] {
  const m = /^[a-z][a-z0-9+.-]*:\/\/([^/]*)@/i.exec(url);
  if (!m?.[1]) return [];
  const info = m[1];
  const colon = info.indexOf(':');
  const password = colon >= 0 ? info.slice(colon + 1) : '';
  const out = new Set<string>();
  if (password.length >= 4) out.add(password);
  try {
    const decoded = decodeURIComponent(password);
    if (decoded.length >= 4) out.add(decoded);
  } catch {
    // not valid percent-encoding: the raw form above is the one ffmpeg would print
  }
  return [...out];
}

/** `redactUrl`, then any literal occurrence of the URL's password. */
export function redactSecrets(text: string, url: string): string {
  let out = redactUrl(text);
  for (const secret of urlSecrets(url)) out = out.split(secret).join('***');
  return out;
}

/**
 * stdin stays open (no -nostdin) so the supervisor can send the quit key for a clean RTSP TEARDOWN.
 * ffmpeg arguments that decode a source to packed BGR24 frames on stdout (the pixel order the
 * detectors want, so no per-frame channel swap is needed).
 */
export function buildFfmpegArgs(src: CameraSource): string[] {
  const args = ['-hide_banner', '-loglevel', 'info', '-nostats'];
  if (isRtsp(src.url)) {
    // TCP: UDP loses packets on busy school networks and smears frames; timeout in µs so a dead
    // camera makes ffmpeg exit instead of hanging forever
    args.push('-rtsp_transport', 'tcp', '-timeout', '5000000');
  } else {
    args.push('-re');
    if (src.loop) args.push('-stream_loop', '-1');
  }
  if (src.inputArgs) args.push(...src.inputArgs);
  args.push('-i', src.url, '-an', '-sn', '-dn');
  const filters: string[] = [];
  if (src.maxFps) filters.push(`fps=${src.maxFps}`);
  if (src.width && src.height) filters.push(`scale=${src.width}:${src.height}`);
  if (filters.length) args.push('-vf', filters.join(','));
  args.push('-f', 'rawvideo', '-pix_fmt', 'bgr24', 'pipe:1');
  return args;
}

/** ffmpeg arguments with credentials stripped, for logs. */
export function safeArgs(args: readonly string[]): string[] {
  return args.map((a) => (/^[a-z][a-z0-9+.-]*:\/\//i.test(a) ? redactUrl(a) : a));
}

export type CameraFailureCode = 'NOT_FOUND' | 'UNREACHABLE' | 'UNAUTHORIZED' | 'DECODE_ERROR' | 'ENDED';

export interface FailureContext {
  /** the source is an RTSP URL (a network camera), not a file */
  rtsp?: boolean;
  /** ffmpeg had opened the input (its `Input #0` header was seen) before it stopped */
  opened?: boolean;
}

const MAX_REASON_CHARS = 400;

/** ffmpeg 5.1's lines when a hwaccel preset fails (no VA display, no libcuda, no V4L2 decoder, qsv errors). */
const HW_FAILURE =
  /No VA display|Failed to initialise VAAPI|Cannot load libcuda|Could not dynamically load CUDA|Device creation failed|No device available for decoder|Device setup failed|Could not find a valid device|_qsv @ .*(error|bug)|Error while opening decoder/i;

/**
 * Classify why ffmpeg stopped from the tail of its stderr. The reason is one stderr line with URL
 * credentials stripped (callers scrub the literal password too, see `redactSecrets`).
 */
export function classifyFfmpegFailure(
  stderrTail: string,
  exitCode: number | null,
  ctx: FailureContext = {},
): { code: CameraFailureCode; reason: string } {
  const line = (re: RegExp): string | undefined =>
    stderrTail
      .split('\n')
      .find((l) => re.test(l))
      ?.trim();
  const pick = (re: RegExp, code: CameraFailureCode, prefix = '') => {
    const l = line(re);
    return l ? { code, reason: (prefix + redactUrl(l)).slice(0, MAX_REASON_CHARS) } : undefined;
  };
  return (
    pick(/No such file or directory|404 Not Found|Stream not found/i, 'NOT_FOUND') ??
    pick(/401 Unauthorized|403 Forbidden|authorization failed/i, 'UNAUTHORIZED') ??
    pick(
      /Connection refused|Connection timed out|No route to host|Network is unreachable|Name or service not known|Failed to resolve|Operation timed out|Immediate exit requested|End of file|Server returned/i,
      'UNREACHABLE',
    ) ??
    // a camera that accepts the connection but never answers DESCRIBE (frozen, or not an RTSP
    // server) makes ffmpeg time out with "Invalid data": a network fault, not a decoding one
    (ctx.rtsp && !ctx.opened ? pick(/Invalid data found/i, 'UNREACHABLE', 'no valid RTSP answer: ') : undefined) ??
    // a hardware preset that cannot work on this box: the first line names the missing piece
    pick(HW_FAILURE, 'DECODE_ERROR', 'hardware decoding failed: ') ??
    pick(/Invalid data found|could not find codec|Error while decoding|moov atom not found/i, 'DECODE_ERROR') ??
    (exitCode === 0
      ? // a live camera that closes the connection looks like a clean end of file to ffmpeg
        { code: 'ENDED', reason: ctx.rtsp ? 'the camera closed the stream' : 'end of stream' }
      : {
          code: 'DECODE_ERROR',
          reason: redactUrl(stderrTail.trim().split('\n').slice(-1)[0] || `ffmpeg exited with ${exitCode}`).slice(
            0,
            MAX_REASON_CHARS,
          ),
        })
  );
}

/** The output size from ffmpeg's stderr header (`Output #0 ... Video: rawvideo ..., 768x432`). */
export function parseOutputSize(stderr: string): { width: number; height: number } | undefined {
  const out = stderr.indexOf('Output #0');
  if (out < 0) return undefined;
  const m = /Stream #0:\d+[^\n]*Video: rawvideo[^\n]*?, (\d{2,5})x(\d{2,5})/.exec(stderr.slice(out));
  return m ? { width: Number(m[1]), height: Number(m[2]) } : undefined;
}
