import { describe, expect, it } from 'vitest';
import { buildFfmpegArgs, classifyFfmpegFailure, parseOutputSize, redactUrl, safeArgs } from './ffmpeg-args.js';

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

  it('classifies failures from stderr, without the password', () => {
    const r = classifyFfmpegFailure('[rtsp @ 0x1] method DESCRIBE failed: 401 Unauthorized\nrtsp://admin:s3cret@cam/x: Server returned 401 Unauthorized', 1);
    expect(r.code).toBe('UNAUTHORIZED');
    expect(r.reason).not.toContain('s3cret');
    expect(classifyFfmpegFailure('/x.mp4: No such file or directory', 1).code).toBe('NOT_FOUND');
    expect(classifyFfmpegFailure('rtsp://cam/x: Connection refused', 1).code).toBe('UNREACHABLE');
    expect(classifyFfmpegFailure('/x.mp4: Invalid data found when processing input', 1).code).toBe('DECODE_ERROR');
    expect(classifyFfmpegFailure('', 0).code).toBe('ENDED');
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
