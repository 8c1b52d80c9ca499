/**
 * Named hardware-decoding presets → ffmpeg input arguments (inserted before `-i`), with raw
 * arguments as an escape hatch, after Frigate's `ffmpeg_presets.py`.
 *
 * Every preset decodes on the accelerator and lets ffmpeg copy the frames back to system memory
 * (no `-hwaccel_output_format`): our filter chain (`fps`, `scale`) and the BGR24 pipe run on the
 * CPU, so the frames must come back anyway, and one output path serves every preset. Decoding is
 * the expensive part on a small box; the copy of a 720p frame is not.
 */

export const HWACCEL_PRESETS = ['none', 'auto', 'vaapi', 'qsv', 'cuda', 'v4l2m2m'] as const;
export type HwaccelPreset = (typeof HWACCEL_PRESETS)[number];

export const VIDEO_CODECS = ['h264', 'h265'] as const;
export type VideoCodec = (typeof VIDEO_CODECS)[number];

export interface DecodeOptions {
  /** named preset; `none` (software decoding) when absent */
  hwaccel?: HwaccelPreset | undefined;
  /** device for the preset: a DRM render node for vaapi (default `/dev/dri/renderD128`), a GPU index for cuda */
  hwaccelDevice?: string | undefined;
  /** codec of the camera stream; only presets that name a decoder (qsv, v4l2m2m) need it */
  codec?: VideoCodec | undefined;
  /** raw ffmpeg input arguments; when given they replace the preset entirely */
  inputArgs?: readonly string[] | undefined;
}

export type DecodeArgsResult =
  { ok: true; value: string[] } | { ok: false; error: { code: 'EDGE_ERR_FFMPEG_INPUT_ARGS'; message: string } };

const DEFAULT_RENDER_NODE = '/dev/dri/renderD128';

/**
 * Arguments the supervisor owns: the input (`-i`), the quit key on stdin (`-nostdin`, `-stdin`)
 * and overwrite prompts; raw arguments that set them would break frames or the polite stop.
 */
const RESERVED = new Set(['-i', '-nostdin', '-stdin', '-y', '-n']);

/** ffmpeg input arguments for a camera's decoding options (pure). */
export function decodeInputArgs(o: DecodeOptions = {}): DecodeArgsResult {
  if (o.inputArgs) {
    const bad = o.inputArgs.find((a) => RESERVED.has(a));
    if (bad)
      return {
        ok: false,
        error: {
          code: 'EDGE_ERR_FFMPEG_INPUT_ARGS',
          message: `inputArgs may not contain ${bad}: the camera supervisor sets it`,
        },
      };
    return { ok: true, value: [...o.inputArgs] };
  }
  const codec = o.codec ?? 'h264';
  const dev = o.hwaccelDevice;
  switch (o.hwaccel ?? 'none') {
    case 'none':
      return { ok: true, value: [] };
    case 'auto':
      // ffmpeg tries the accelerators it was built with and decodes in software when none works
      return { ok: true, value: ['-hwaccel', 'auto'] };
    case 'vaapi':
      // Intel/AMD through libva (Debian: intel-media-va-driver or mesa-va-drivers)
      return { ok: true, value: ['-hwaccel', 'vaapi', '-hwaccel_device', dev ?? DEFAULT_RENDER_NODE] };
    case 'qsv':
      // Intel Quick Sync: the qsv decoder alone opens its own session on the default adapter and
      // hands back system-memory frames; another adapter needs raw inputArgs
      return { ok: true, value: ['-c:v', codec === 'h265' ? 'hevc_qsv' : 'h264_qsv'] };
    case 'cuda':
      // NVIDIA NVDEC (needs an ffmpeg built with nvdec and the driver's libnvcuvid)
      return { ok: true, value: ['-hwaccel', 'cuda', ...(dev ? ['-hwaccel_device', dev] : [])] };
    case 'v4l2m2m':
      // Raspberry Pi and other SoCs with a V4L2 memory-to-memory decoder
      return { ok: true, value: ['-c:v', codec === 'h265' ? 'hevc_v4l2m2m' : 'h264_v4l2m2m'] };
  }
}
