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

/** Replace the user:password part of a URL so it can be logged or published. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^@/]*@/i, '$1***@');
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

/** Classify why ffmpeg stopped from the tail of its stderr. */
export function classifyFfmpegFailure(stderrTail: string, exitCode: number | null): { code: CameraFailureCode; reason: string } {
  const line = (re: RegExp): string | undefined => stderrTail.split('\n').find((l) => re.test(l))?.trim();
  const pick = (re: RegExp, code: CameraFailureCode) => {
    const l = line(re);
    return l ? { code, reason: redactUrl(l).slice(0, 400) } : undefined;
  };
  return (
    pick(/No such file or directory|404 Not Found|Stream not found/i, 'NOT_FOUND') ??
    pick(/401 Unauthorized|403 Forbidden|authorization failed/i, 'UNAUTHORIZED') ??
    pick(/Connection refused|Connection timed out|No route to host|Network is unreachable|Name or service not known|Operation timed out|Immediate exit requested|End of file|Server returned/i, 'UNREACHABLE') ??
    pick(/Invalid data found|could not find codec|Error while decoding|moov atom not found/i, 'DECODE_ERROR') ??
    (exitCode === 0
      ? { code: 'ENDED', reason: 'end of stream' }
      : { code: 'DECODE_ERROR', reason: redactUrl(stderrTail.trim().split('\n').slice(-1)[0] ?? `ffmpeg exited with ${exitCode}`).slice(0, 400) })
  );
}

/** The output size from ffmpeg's stderr header (`Output #0 ... Video: rawvideo ..., 768x432`). */
export function parseOutputSize(stderr: string): { width: number; height: number } | undefined {
  const out = stderr.indexOf('Output #0');
  if (out < 0) return undefined;
  const m = /Stream #0:\d+[^\n]*Video: rawvideo[^\n]*?, (\d{2,5})x(\d{2,5})/.exec(stderr.slice(out));
  return m ? { width: Number(m[1]), height: Number(m[2]) } : undefined;
}
