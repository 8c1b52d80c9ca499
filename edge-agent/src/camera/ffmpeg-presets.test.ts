import { describe, expect, it } from 'vitest';
import { buildFfmpegArgs } from './ffmpeg-args.js';
import { decodeInputArgs, HWACCEL_PRESETS } from './ffmpeg-presets.js';

const args = (o: Parameters<typeof decodeInputArgs>[0]) => {
  const r = decodeInputArgs(o);
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
};

describe('decodeInputArgs', () => {
  it('decodes in software by default', () => {
    expect(args({})).toEqual([]);
    expect(args({ hwaccel: 'none' })).toEqual([]);
  });

  it('maps each named preset to its input arguments, with the device where the preset takes one', () => {
    expect(args({ hwaccel: 'auto' })).toEqual(['-hwaccel', 'auto']);
    expect(args({ hwaccel: 'vaapi' })).toEqual(['-hwaccel', 'vaapi', '-hwaccel_device', '/dev/dri/renderD128']);
    expect(args({ hwaccel: 'vaapi', hwaccelDevice: '/dev/dri/renderD129' })).toEqual([
      '-hwaccel',
      'vaapi',
      '-hwaccel_device',
      '/dev/dri/renderD129',
    ]);
    expect(args({ hwaccel: 'cuda' })).toEqual(['-hwaccel', 'cuda']);
    expect(args({ hwaccel: 'cuda', hwaccelDevice: '1' })).toEqual(['-hwaccel', 'cuda', '-hwaccel_device', '1']);
  });

  it('picks the named decoder by codec for qsv and v4l2m2m (h264 unless told)', () => {
    expect(args({ hwaccel: 'qsv' })).toEqual(['-c:v', 'h264_qsv']);
    expect(args({ hwaccel: 'qsv', codec: 'h265' })).toEqual(['-c:v', 'hevc_qsv']);
    expect(args({ hwaccel: 'v4l2m2m' })).toEqual(['-c:v', 'h264_v4l2m2m']);
    expect(args({ hwaccel: 'v4l2m2m', codec: 'h265' })).toEqual(['-c:v', 'hevc_v4l2m2m']);
  });

  it('never asks for accelerator-side output frames: the BGR24 pipe needs them in system memory', () => {
    for (const hwaccel of HWACCEL_PRESETS) expect(args({ hwaccel })).not.toContain('-hwaccel_output_format');
  });

  it('raw inputArgs replace the preset, and cannot take over the input or the quit key', () => {
    expect(args({ hwaccel: 'vaapi', inputArgs: ['-hwaccel', 'drm'] })).toEqual(['-hwaccel', 'drm']);
    for (const bad of ['-i', '-nostdin', '-y']) {
      const r = decodeInputArgs({ inputArgs: ['-hwaccel', 'auto', bad, 'x'] });
      expect(r).toMatchObject({ ok: false, error: { code: 'EDGE_ERR_FFMPEG_INPUT_ARGS' } });
    }
  });

  it('lands before -i and after the RTSP transport options, so a raw argument can override those', () => {
    const a = buildFfmpegArgs({ url: 'rtsp://cam/x', inputArgs: args({ hwaccel: 'vaapi' }) });
    const at = (s: string) => a.indexOf(s);
    expect(at('-rtsp_transport')).toBeLessThan(at('-hwaccel'));
    expect(at('-hwaccel')).toBeLessThan(at('-i'));
  });
});
