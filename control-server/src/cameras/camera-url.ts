import { isAbsolute } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fail, ok, type Result } from '../people/result.js';

/**
 * Camera source URLs as the registry accepts them: `rtsp://` / `rtsps://` (what cameras speak),
 * and, only where the server allows it (`cameras.allowFileUrls`, the demo and the tests), a local
 * video file given as `file://` URL or absolute path. Pure: no I/O.
 *
 * The URL is a secret (it usually carries the camera's password): it is stored encrypted, never
 * returned by the API and never logged. What leaves this module for display is `redactCameraUrl`.
 */

export type CameraSource = { kind: 'rtsp'; url: string } | { kind: 'file'; path: string };

export type CameraUrlErrorCode = 'CAMERA_ERR_URL';

export const MAX_CAMERA_URL_LENGTH = 2048;

export function parseCameraUrl(raw: string, o: { allowFileUrls: boolean }): Result<CameraSource, CameraUrlErrorCode> {
  const value = raw.trim();
  if (value.length === 0 || value.length > MAX_CAMERA_URL_LENGTH) {
    return fail('CAMERA_ERR_URL', `the camera URL must have 1 to ${MAX_CAMERA_URL_LENGTH} characters`);
  }
  // control characters would reach ffmpeg's argv and the RTSP request line
  if (/[\u0000-\u001f\u007f]/.test(value)) return fail('CAMERA_ERR_URL', 'the camera URL contains control characters');
  const fileRefused = fail(
    'CAMERA_ERR_URL',
    'file sources are refused on this server (cameras.allowFileUrls is off): give an rtsp:// or rtsps:// URL',
  );
  if (value.startsWith('/')) {
    if (!o.allowFileUrls) return fileRefused;
    return isAbsolute(value)
      ? ok({ kind: 'file', path: value })
      : fail('CAMERA_ERR_URL', 'a file path must be absolute');
  }
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    // the WHATWG parser's message would echo the URL, password included
    return fail('CAMERA_ERR_URL', 'the camera URL cannot be parsed: expected rtsp://[user:password@]host[:port]/path');
  }
  if (u.protocol === 'file:') {
    if (!o.allowFileUrls) return fileRefused;
    return ok({ kind: 'file', path: fileURLToPath(u) });
  }
  if (u.protocol !== 'rtsp:' && u.protocol !== 'rtsps:') {
    return fail('CAMERA_ERR_URL', `unsupported scheme ${u.protocol}: only rtsp:// and rtsps:// cameras are supported`);
  }
  if (u.hostname.length === 0) return fail('CAMERA_ERR_URL', 'the camera URL has no host');
  return ok({ kind: 'rtsp', url: value });
}

/**
 * For display and logs: the password replaced by `***` (the user name is kept: it tells an admin
 * which account the camera uses), query values that look like secrets too. Never throws.
 */
export function redactCameraUrl(raw: string): string {
  const value = raw.trim();
  if (value.startsWith('/')) return value;
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    // unparsable: show nothing of it rather than risk a password
    return '[unparsable URL]';
  }
  if (u.password) u.password = '***';
  for (const k of [...u.searchParams.keys()]) {
    if (/pass|pwd|token|secret|key|auth/i.test(k)) u.searchParams.set(k, '***');
  }
  // URL percent-encodes the asterisks of userinfo
  return u.toString().replace(/%2A%2A%2A/gi, '***');
}

/**
 * Strip anything that looks like the credentials of `url` from a message (ffmpeg's stderr echoes
 * its input URL). Both the raw and the percent-decoded password are removed.
 */
export function scrubSecrets(message: string, url: string): string {
  let out = message;
  let u: URL | null = null;
  try {
    u = new URL(url);
  } catch {
    // a file path: no credentials to strip
  }
  if (u) {
    out = out.split(url).join(redactCameraUrl(url));
    for (const secret of [u.password, safeDecode(u.password)]) {
      if (secret.length >= 1) out = out.split(secret).join('***');
    }
  }
  // anything still shaped like scheme://user:pass@
  return out.replace(/([a-z][a-z0-9+.-]*:\/\/[^\s:/@]+):[^\s@/]*@/gi, '$1:***@');
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    // malformed escapes: the raw form is still scrubbed
    return s;
  }
}

/** `ffmpeg` input arguments for a source: protocols whitelisted, RTSP over TCP, no stdin prompts. */
export function ffmpegInputArgs(source: CameraSource, o: { seekS?: number; realtime?: boolean } = {}): string[] {
  if (source.kind === 'rtsp') {
    return [
      '-protocol_whitelist',
      'rtsp,rtsps,rtp,srtp,udp,tcp,tls',
      '-rtsp_transport',
      'tcp',
      // socket I/O timeout in µs: a camera that accepts then stalls must not hang the grab
      '-timeout',
      '5000000',
      '-i',
      source.url,
    ];
  }
  return [
    '-protocol_whitelist',
    'file',
    ...(o.realtime ? ['-re', '-stream_loop', '-1'] : []),
    ...(o.seekS !== undefined && o.seekS > 0 ? ['-ss', o.seekS.toFixed(2)] : []),
    '-i',
    `file:${source.path}`,
  ];
}
