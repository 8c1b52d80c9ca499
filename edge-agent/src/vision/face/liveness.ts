import { resolveModel } from '@portail/models';
import type { Logger } from 'pino';
import { openOnnxSession, ort, type ExecutionProvider } from '../../infra/onnx-session.js';
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

/**
 * Crop `rect` (inclusive) of a BGR24 frame and resize it to size×size like cv2.resize INTER_LINEAR
 * (half-pixel centres, edge clamp, no anti-aliasing), rounding to 8-bit as cv2 does on uint8
 * images, then lay it out as NCHW float32 BGR in raw 0..255: the models take no normalisation.
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
  const stride = frame.width * 3;
  const plane = size * size;
  // horizontal taps are the same for every row: compute them once
  const xi = new Int32Array(size);
  const xf = new Float32Array(size);
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
    xi[u] = ix;
    xf[u] = fx;
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
    const row0 = (y0 + iy) * stride;
    const row1 = iy + 1 < ch ? row0 + stride : row0;
    for (let u = 0; u < size; u++) {
      const fx = xf[u]!;
      const p0 = (x0 + xi[u]!) * 3;
      const p1 = fx > 0 ? p0 + 3 : p0;
      const o = v * size + u;
      for (let c = 0; c < 3; c++) {
        const top = frame.data[row0 + p0 + c]! * (1 - fx) + frame.data[row0 + p1 + c]! * fx;
        const bottom = frame.data[row1 + p0 + c]! * (1 - fx) + frame.data[row1 + p1 + c]! * fx;
        out[c * plane + o] = Math.round(top * (1 - fy) + bottom * fy);
      }
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
  logger?.info({ models: opened.map((m) => m.name), provider: opened[0]!.provider, threshold }, 'liveness ready');

  return {
    models: opened.map((m) => ({ name: m.name, sha256: m.sha256 })),
    provider: opened[0]!.provider,
    threshold,
    async check(frame, box) {
      if (closed) throw new VisionError('VISION_ERR_CLOSED', 'liveness checker is closed');
      const perModel: { model: string; probs: number[] }[] = [];
      for (const m of opened) {
        const input = livenessInput(frame, livenessCropRect(frame.width, frame.height, box, m.scale), size);
        try {
          const outputs = await m.session.run({
            [m.session.inputNames[0]!]: new ort.Tensor('float32', input, [1, 3, size, size]),
          });
          const logits = outputs[m.session.outputNames[0]!]?.data;
          if (!(logits instanceof Float32Array) || logits.length !== 3) {
            throw new VisionError('VISION_ERR_BAD_OUTPUT', `${m.name} did not return 3 float32 logits`);
          }
          perModel.push({ model: m.name, probs: softmax(logits) });
        } finally {
          // the crop is face data: zero it rather than leave it to the GC
          input.fill(0);
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
