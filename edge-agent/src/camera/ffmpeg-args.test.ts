import { describe, expect, it } from 'vitest';
import {
  buildFfmpegArgs,
  classifyFfmpegFailure,
  parseOutputSize,
  redactSecrets,
  redactUrl,
  safeArgs,
  urlSecrets,
} from './ffmpeg-args.js';

describe('buildFfmpegArgs', () => {
  it('reads RTSP over TCP with a socket timeout and outputs BGR24 raw frames', () => {
    const a = buildFfmpegArgs({ url: 'rtsp://u:p@10.0.0.5/stream', maxFps: 5 });
    expect(a.join(' ')).toContain('-rtsp_transport tcp');
    expect(a.join(' ')).toContain('-vf fps=5');
    expect(a.slice(-5)).toEqual(['-f', 'rawvideo', '-pix_fmt', 'bgr24', 'pipe:1']);
    expect(a).not.toContain('-re');
  });

  it('reads files at native rate and loops them on request', () => {
    const a = buildFfmpegArgs({ url: '/clips/a.mp4', loop: true, width: 640, height: 360 });
    expect(a).toContain('-re');
    expect(a.join(' ')).toContain('-stream_loop -1');
    expect(a.join(' ')).toContain('scale=640:360');
    expect(a).not.toContain('-rtsp_transport');
  });
});

describe('credentials never leave in logs', () => {
  it('redacts user:password in URLs and argument lists', () => {
    expect(redactUrl('rtsp://admin:s3cret@cam.local:554/h264')).toBe('rtsp://***@cam.local:554/h264');
    expect(safeArgs(['-i', 'rtsp://admin:s3cret@cam/x']).join(' ')).not.toContain('s3cret');
    expect(redactUrl('/plain/file.mp4')).toBe('/plain/file.mp4');
  });

  it('redacts credentials anywhere in a line, including passwords holding @ or :', () => {
    const line =
      "[in#0 @ 0x1] Error opening input file rtsp://admin:p@ss:w0rd@10.0.0.5:554/h264 from 'rtsp://u:x@cam/a'";
    const out = redactUrl(line);
    expect(out).toBe("[in#0 @ 0x1] Error opening input file rtsp://***@10.0.0.5:554/h264 from 'rtsp://***@cam/a'");
    expect(redactUrl('tcp://127.0.0.1:1?timeout=5000000 failed')).toBe('tcp://127.0.0.1:1?timeout=5000000 failed');
  });

  it('scrubs the literal password, raw and percent-decoded, from any text', () => {
    const url = 'rtsp://admin:s3cr%3Aet%40x@cam/x';
    expect(urlSecrets(url).sort()).toEqual(['s3cr%3Aet%40x', 's3cr:et@x'].sort());
    expect(redactSecrets('auth as admin with s3cr:et@x refused', url)).toBe('auth as admin with *** refused');
    // too short to scrub without garbling every message
    expect(urlSecrets('rtsp://a:1@cam/x')).toEqual([]);
    expect(urlSecrets('rtsp://cam/x')).toEqual([]);
  });

  it('classifies failures from stderr, without the password', () => {
    const r = classifyFfmpegFailure(
      '[rtsp @ 0x1] method DESCRIBE failed: 401 Unauthorized\nrtsp://admin:s3cret@cam/x: Server returned 401 Unauthorized',
      1,
    );
    expect(r.code).toBe('UNAUTHORIZED');
    expect(r.reason).not.toContain('s3cret');
    expect(classifyFfmpegFailure('/x.mp4: No such file or directory', 1).code).toBe('NOT_FOUND');
    expect(classifyFfmpegFailure('rtsp://cam/x: Connection refused', 1).code).toBe('UNREACHABLE');
    expect(classifyFfmpegFailure('/x.mp4: Invalid data found when processing input', 1).code).toBe('DECODE_ERROR');
    expect(classifyFfmpegFailure('', 0).code).toBe('ENDED');
  });

  it('reads the RTSP failures ffmpeg 5.1 prints against a real server', () => {
    // stderr lines recorded from ffmpeg 5.1 against GStreamer's RTSP server (test/helpers/rtsp_server.py)
    const notFound =
      '[rtsp @ 0x5649] method DESCRIBE failed: 404 Not Found\nrtsp://admin:pw12@127.0.0.1:35033/nope: Server returned 404 Not Found';
    expect(classifyFfmpegFailure(notFound, 1, { rtsp: true })).toMatchObject({
      code: 'NOT_FOUND',
      reason: '[rtsp @ 0x5649] method DESCRIBE failed: 404 Not Found',
    });
    const refused =
      '[tcp @ 0x5618] Connection to tcp://127.0.0.1:1?timeout=5000000 failed: Connection refused\nrtsp://admin:pw12@127.0.0.1:1/cam: Connection refused';
    expect(classifyFfmpegFailure(refused, 1, { rtsp: true }).code).toBe('UNREACHABLE');
    const noDns =
      '[tcp @ 0x5581] Failed to resolve hostname no-such-host.invalid: Name or service not known\nrtsp://no-such-host.invalid/cam: Input/output error';
    expect(classifyFfmpegFailure(noDns, 1, { rtsp: true }).code).toBe('UNREACHABLE');
    // a server that accepts the connection and never answers DESCRIBE (frozen)
    const frozen = 'rtsp://127.0.0.1:43209/cam: Invalid data found when processing input';
    expect(classifyFfmpegFailure(frozen, 1, { rtsp: true, opened: false })).toMatchObject({
      code: 'UNREACHABLE',
      reason: expect.stringMatching(/^no valid RTSP answer/),
    });
    expect(classifyFfmpegFailure(frozen, 1, { rtsp: true, opened: true }).code).toBe('DECODE_ERROR');
    // hardware presets on a box without the hardware (recorded from ffmpeg 5.1, no GPU)
    const noVaapi =
      '[AVHWDeviceContext @ 0x55c1] No VA display found for device /dev/dri/renderD128.\nDevice creation failed: -22.\n[h264 @ 0x55c1] No device available for decoder: device type vaapi needed for codec h264.';
    expect(classifyFfmpegFailure(noVaapi, 1, { rtsp: true, opened: true })).toEqual({
      code: 'DECODE_ERROR',
      reason:
        'hardware decoding failed: [AVHWDeviceContext @ 0x55c1] No VA display found for device /dev/dri/renderD128.',
    });
    const noV4l2 =
      "[h264_v4l2m2m @ 0x5613] Could not find a valid device\n[h264_v4l2m2m @ 0x5613] can't configure decoder";
    expect(classifyFfmpegFailure(noV4l2, 1).reason).toMatch(
      /^hardware decoding failed: .*Could not find a valid device/,
    );
    // killed server: ffmpeg sees a clean end of file
    expect(classifyFfmpegFailure('', 0, { rtsp: true })).toEqual({
      code: 'ENDED',
      reason: 'the camera closed the stream',
    });
    expect(classifyFfmpegFailure('\n', 1).reason).toBe('ffmpeg exited with 1');
  });
});

describe('parseOutputSize', () => {
  it('reads the raw output size from the ffmpeg header, not the input size', () => {
    const stderr = [
      "Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'a.mp4':",
      '  Stream #0:0[0x1](und): Video: h264 (High) (avc1 / 0x31637661), yuv420p(progressive), 768x432, 10 fps',
      "Output #0, rawvideo, to 'pipe:1':",
      '  Stream #0:0(und): Video: rawvideo (BGR[24] / 0x18524742), bgr24(progressive), 384x216, q=2-31, 19906 kb/s, 10 fps',
    ].join('\n');
    expect(parseOutputSize(stderr)).toEqual({ width: 384, height: 216 });
    expect(parseOutputSize(stderr.split('Output')[0]!)).toBeUndefined();
  });
});
