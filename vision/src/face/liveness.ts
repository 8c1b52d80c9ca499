import { resolveModel } from '@portail/models';
import type { Logger } from 'pino';
import { openOnnxSession, ort, type ExecutionProvider } from '../onnx-session.js';
import { roundNonNegative } from '../round-non-negative.js';
import type { Box, Frame } from '../types.js';
import { VisionError } from '../vision-error.js';

/**
 * Passive liveness with the two Silent-Face-Anti-Spoofing models (minivision, Apache-2.0), fused as
 * upstream does: each sees the face box enlarged by its own scale, and their softmaxes are averaged.
 */
export const LIVENESS_MODELS = Object.freeze([
  { name: 'minifasnet-v2-2.7', scale: 2.7 },
  { name: 'minifasnet-v1se-4.0', scale: 4.0 },
] as const);

export const LIVENESS_INPUT_PX = 80;
/** class index of "real face" in both models' 3-way output; 0 and 2 are spoof types */
export const REAL_CLASS = 1;

/**
 * Default decision threshold on the fused real score. At 0.5 the real class holds at least half of
 * the probability mass, which implies the upstream argmax rule (stricter than it). On the smoke
 * images the fused scores are T1 real 1.00, F1 print 0.23, F2 screen 0.004
 * (liveness.int.test.ts). A gate must set its own threshold from spoof attempts on its camera.
 */
export const DEFAULT_LIVENESS_THRESHOLD = 0.5;

/** Inclusive pixel rectangle. */
export interface CropRect {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/**
 * The crop each model saw in training (upstream `CropImage._get_new_box`): the box scaled by
 * `min(scale, (H−1)/h, (W−1)/w)` about its centre, shifted back inside the image when it overflows,
 * truncated to integers.
 */
export function livenessCropRect(frameWidth: number, frameHeight: number, box: Box, scale: number): CropRect {
  const s = Math.min((frameHeight - 1) / box.h, (frameWidth - 1) / box.w, scale);
  const w = box.w * s;
  const h = box.h * s;
  const cx = box.x + box.w / 2;
  const cy = box.y + box.h / 2;
  let x0 = cx - w / 2;
  let y0 = cy - h / 2;
  let x1 = cx + w / 2;
  let y1 = cy + h / 2;
  if (x0 < 0) {
    x1 -= x0;
    x0 = 0;
  }
  if (y0 < 0) {
    y1 -= y0;
    y0 = 0;
  }
  if (x1 > frameWidth - 1) {
    x0 -= x1 - frameWidth + 1;
    x1 = frameWidth - 1;
  }
  if (y1 > frameHeight - 1) {
    y0 -= y1 - frameHeight + 1;
    y1 = frameHeight - 1;
  }
  return { x0: Math.trunc(x0), y0: Math.trunc(y0), x1: Math.trunc(x1), y1: Math.trunc(y1) };
}

/** Horizontal taps of `livenessInput`, reused across calls (it is synchronous). */
const taps = {
  size: 0,
  col0: new Int32Array(0),
  col1: new Int32Array(0),
  wx: new Float64Array(0),
  wx1: new Float64Array(0),
};

/**
 * Crop `rect` (inclusive) of a BGR24 frame and resize it to size×size like cv2.resize INTER_LINEAR
 * (half-pixel centres, edge clamp, no anti-aliasing), rounding to 8-bit as cv2 does on uint8
 * images, then lay it out as NCHW float32 BGR in raw 0..255: the models take no normalisation.
 * One pass over the output; the horizontal taps are computed once per call.
 */
export function livenessInput(
  frame: Pick<Frame, 'width' | 'height' | 'data'>,
  rect: CropRect,
  size = LIVENESS_INPUT_PX,
  out: Float32Array = new Float32Array(3 * size * size),
): Float32Array {
  const x0 = Math.max(0, rect.x0);
  const y0 = Math.max(0, rect.y0);
  const cw = Math.min(frame.width - 1, rect.x1) - x0 + 1;
  const ch = Math.min(frame.height - 1, rect.y1) - y0 + 1;
  if (cw < 1 || ch < 1) throw new VisionError('VISION_ERR_BAD_FRAME', `empty liveness crop ${JSON.stringify(rect)}`);
  const sx = cw / size;
  const sy = ch / size;
  const data = frame.data;
  const stride = frame.width * 3;
  const plane = size * size;
  if (taps.size !== size) {
    taps.size = size;
    taps.col0 = new Int32Array(size);
    taps.col1 = new Int32Array(size);
    taps.wx = new Float64Array(size);
    taps.wx1 = new Float64Array(size);
  }
  const { col0, col1, wx, wx1 } = taps;
  // horizontal taps are the same for every row: byte offsets of the two source pixels and their
  // weights. The weight goes through float32 (Math.fround) as it always has, so outputs are unchanged.
  for (let u = 0; u < size; u++) {
    let fx = (u + 0.5) * sx - 0.5;
    let ix = Math.floor(fx);
    fx -= ix;
    if (ix < 0) {
      ix = 0;
      fx = 0;
    }
    if (ix >= cw - 1) {
      ix = cw - 1;
      fx = 0;
    }
    const f = Math.fround(fx);
    col0[u] = (x0 + ix) * 3;
    col1[u] = f > 0 ? (x0 + ix) * 3 + 3 : (x0 + ix) * 3;
    wx[u] = f;
    wx1[u] = 1 - f;
  }
  for (let v = 0; v < size; v++) {
    let fy = (v + 0.5) * sy - 0.5;
    let iy = Math.floor(fy);
    fy -= iy;
    if (iy < 0) {
      iy = 0;
      fy = 0;
    }
    if (iy >= ch - 1) {
      iy = ch - 1;
      fy = 0;
    }
    const gy = 1 - fy;
    const row0 = (y0 + iy) * stride;
    const row1 = iy + 1 < ch ? row0 + stride : row0;
    for (let u = 0, o = v * size; u < size; u++, o++) {
      const fx = wx[u]!;
      const gx = wx1[u]!;
      const a = row0 + col0[u]!;
      const b = row0 + col1[u]!;
      const c = row1 + col0[u]!;
      const d = row1 + col1[u]!;
      out[o] = roundNonNegative((data[a]! * gx + data[b]! * fx) * gy + (data[c]! * gx + data[d]! * fx) * fy);
      out[plane + o] = roundNonNegative(
        (data[a + 1]! * gx + data[b + 1]! * fx) * gy + (data[c + 1]! * gx + data[d + 1]! * fx) * fy,
      );
      out[2 * plane + o] = roundNonNegative(
        (data[a + 2]! * gx + data[b + 2]! * fx) * gy + (data[c + 2]! * gx + data[d + 2]! * fx) * fy,
      );
    }
  }
  return out;
}

export function softmax(logits: ArrayLike<number>): number[] {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]!);
  const e = Array.from({ length: logits.length }, (_, i) => Math.exp(logits[i]! - max));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / sum);
}

export interface LivenessResult {
  /** mean over the models of P(real): 0..1 */
  realScore: number;
  live: boolean;
  threshold: number;
  /** argmax of the summed softmaxes (upstream's label: 1 real, 0/2 spoof types) */
  label: number;
  perModel: { model: string; probs: number[] }[];
}

/** Fuse per-model softmaxes as upstream does (sum, argmax) and score with the mean P(real). */
export function fuseLiveness(perModel: { model: string; probs: number[] }[], threshold: number): LivenessResult {
  const sum = [0, 0, 0];
  for (const m of perModel) for (let k = 0; k < 3; k++) sum[k]! += m.probs[k]!;
  const realScore = sum[REAL_CLASS]! / perModel.length;
  const label = sum.indexOf(Math.max(...sum));
  return { realScore, live: realScore >= threshold, threshold, label, perModel };
}

export interface LivenessChecker {
  readonly models: readonly { name: string; sha256: string }[];
  readonly provider: string;
  readonly threshold: number;
  check(frame: Frame, box: Box): Promise<LivenessResult>;
  close(): Promise<void>;
}

export interface LivenessOptions {
  modelsDir?: string;
  providers?: ExecutionProvider[];
  intraOpThreads?: number;
  /** on the fused real score; default DEFAULT_LIVENESS_THRESHOLD */
  threshold?: number;
  logger?: Logger;
}

export async function createLivenessChecker(opts: LivenessOptions = {}): Promise<LivenessChecker> {
  const logger = opts.logger?.child({ module: 'liveness' });
  const threshold = opts.threshold ?? DEFAULT_LIVENESS_THRESHOLD;
  const opened = await Promise.all(
    LIVENESS_MODELS.map(async (m) => {
      const model = await resolveModel(m.name, { modelsDir: opts.modelsDir });
      const s = await openOnnxSession(model.path, {
        providers: opts.providers ?? ['cpu'],
        intraOpThreads: opts.intraOpThreads ?? 1,
        logger,
      });
      return { ...m, sha256: model.sha256, ...s };
    }),
  );
  let closed = false;
  const size = LIVENESS_INPUT_PX;
  // Model inputs are reused, not allocated per frame; a pool rather than one buffer per model
  // because overlapping `check` calls (two passages at once) must not share an input.
  const free: Float32Array[] = [];
  logger?.info({ models: opened.map((m) => m.name), provider: opened[0]!.provider, threshold }, 'liveness ready');

  return {
    models: opened.map((m) => ({ name: m.name, sha256: m.sha256 })),
    provider: opened[0]!.provider,
    threshold,
    async check(frame, box) {
      if (closed) throw new VisionError('VISION_ERR_CLOSED', 'liveness checker is closed');
      const perModel: { model: string; probs: number[] }[] = [];
      for (const m of opened) {
        const input = free.pop() ?? new Float32Array(3 * size * size);
        try {
          livenessInput(frame, livenessCropRect(frame.width, frame.height, box, m.scale), size, input);
          const outputs = await m.session.run({
            [m.session.inputNames[0]!]: new ort.Tensor('float32', input, [1, 3, size, size]),
          });
          const logits = outputs[m.session.outputNames[0]!]?.data;
          if (!(logits instanceof Float32Array) || logits.length !== 3) {
            throw new VisionError('VISION_ERR_BAD_OUTPUT', `${m.name} did not return 3 float32 logits`);
          }
          perModel.push({ model: m.name, probs: softmax(logits) });
        } finally {
          // the crop is face data: zeroed before it goes back to the pool
          input.fill(0);
          free.push(input);
        }
      }
      return fuseLiveness(perModel, threshold);
    },
    async close() {
      if (closed) return;
      closed = true;
      await Promise.all(opened.map((m) => m.session.release()));
    },
  };
}
