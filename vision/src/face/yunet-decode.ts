import { IDENTITY_MAP, mapCorners, mapPoint, type BoxMap } from '../box-map.js';
import { nms } from '../nms.js';
import type { FaceDetection, Point } from '../types.js';
import { VisionError } from '../vision-error.js';

export const YUNET_STRIDES = [8, 16, 32] as const;

export interface YunetDecodeOptions {
  /** keep faces with sqrt(cls·obj) ≥ this */
  scoreThreshold: number;
  /** NMS IoU; OpenCV FaceDetectorYN uses 0.3 */
  nmsIou: number;
  /** model-input → frame coordinates (default identity) */
  map?: BoxMap;
}

/**
 * Decode YuNet's raw outputs (MANIFEST.md §1b, as OpenCV FaceDetectorYN) into faces.
 *
 * `outputs` holds the batch-1 tensors by their ONNX names `cls_8`, `obj_8`, `bbox_8`, `kps_8`, … for
 * strides 8/16/32; each has (H/s)·(W/s) rows, one anchor per grid cell, row-major.
 * For cell (r, c) of stride s: score = sqrt(clamp(cls)·clamp(obj)), centre ((c+b0)·s, (r+b1)·s),
 * size (exp(b2)·s, exp(b3)·s), landmark k at ((kps[2k]+c)·s, (kps[2k+1]+r)·s).
 */
export function decodeYunet(
  outputs: Readonly<Record<string, Float32Array | undefined>>,
  inputWidth: number,
  inputHeight: number,
  opts: YunetDecodeOptions,
): FaceDetection[] {
  const map = opts.map ?? IDENTITY_MAP;
  const faces: FaceDetection[] = [];
  const minProduct = opts.scoreThreshold > 0 ? opts.scoreThreshold * opts.scoreThreshold * (1 - 1e-9) : -Infinity;
  for (const s of YUNET_STRIDES) {
    if (inputWidth % s !== 0 || inputHeight % s !== 0) {
      throw new RangeError(`YuNet input ${inputWidth}×${inputHeight} is not a multiple of ${s}`);
    }
    const cols = inputWidth / s;
    const n = cols * (inputHeight / s);
    const cls = level(outputs, `cls_${s}`, n, 1);
    const obj = level(outputs, `obj_${s}`, n, 1);
    const bbox = level(outputs, `bbox_${s}`, n, 4);
    const kps = level(outputs, `kps_${s}`, n, 10);
    for (let i = 0; i < n; i++) {
      // nearly every cell is background: reject on the product first (no sqrt, no box), with a
      // bound a little below threshold² so rounding can never drop a cell the exact test keeps
      const p = clamp01(cls[i]!) * clamp01(obj[i]!);
      if (!(p >= minProduct)) continue;
      const score = Math.sqrt(p);
      if (!(score >= opts.scoreThreshold)) continue;
      const r = Math.floor(i / cols);
      const c = i - r * cols;
      const b = i * 4;
      const cx = (c + bbox[b]!) * s;
      const cy = (r + bbox[b + 1]!) * s;
      const w = Math.exp(bbox[b + 2]!) * s;
      const h = Math.exp(bbox[b + 3]!) * s;
      const k = i * 10;
      const lm = (j: number): Point => mapPoint(map, (kps[k + 2 * j]! + c) * s, (kps[k + 2 * j + 1]! + r) * s);
      faces.push({
        box: mapCorners(map, cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2),
        score,
        landmarks: [lm(0), lm(1), lm(2), lm(3), lm(4)],
      });
    }
  }
  return nms(faces, opts.nmsIou);
}

function level(
  outputs: Readonly<Record<string, Float32Array | undefined>>,
  name: string,
  rows: number,
  width: number,
): Float32Array {
  const t = outputs[name];
  if (!t) throw new VisionError('VISION_ERR_BAD_OUTPUT', `YuNet output ${name} is missing`);
  if (t.length !== rows * width) {
    throw new VisionError(
      'VISION_ERR_BAD_OUTPUT',
      `YuNet output ${name} has ${t.length} values, expected ${rows}×${width} for this input size`,
    );
  }
  return t;
}

function clamp01(v: number): number {
  return v < 0 ? 0 : v > 1 ? 1 : v;
}
