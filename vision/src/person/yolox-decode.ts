import { clipBox, IDENTITY_MAP, mapCorners, type BoxMap } from '../box-map.js';
import { nms } from '../nms.js';
import type { PersonDetection } from '../types.js';
import { VisionError } from '../vision-error.js';

export const YOLOX_STRIDES = [8, 16, 32] as const;
/** COCO class 0 */
export const COCO_PERSON = 0;

export interface YoloxDecodeOptions {
  /** keep boxes with obj·cls ≥ this (0.3 for display/events; 0.1 for a tracker's low-score pass) */
  scoreThreshold: number;
  /** NMS IoU (0.45 in the YOLOX demo) */
  nmsIou: number;
  /** model-input → frame coordinates (default identity) */
  map?: BoxMap;
  /** when set, boxes are clipped to this frame size */
  clip?: { width: number; height: number };
  /** default 80 (COCO) */
  numClasses?: number;
  /** default 0 (person) */
  classIndex?: number;
}

/**
 * Decode YOLOX's raw `output` [1, N, 5 + numClasses] (export with decode_in_inference=False, obj and
 * cls already sigmoid-ed; MANIFEST-person.md). Rows are stride 8 first, then 16, 32, each grid
 * row-major; row (tx, ty, tw, th, obj, cls…) at cell (gx, gy) of stride s is the box centred at
 * ((tx+gx)·s, (ty+gy)·s) of size (exp(tw)·s, exp(th)·s), with score obj·cls[classIndex].
 */
export function decodeYolox(
  output: Float32Array,
  inputWidth: number,
  inputHeight: number,
  opts: YoloxDecodeOptions,
): PersonDetection[] {
  const numClasses = opts.numClasses ?? 80;
  const classIndex = opts.classIndex ?? COCO_PERSON;
  const map = opts.map ?? IDENTITY_MAP;
  const rowLen = 5 + numClasses;
  let expectedRows = 0;
  for (const s of YOLOX_STRIDES) expectedRows += Math.floor(inputHeight / s) * Math.floor(inputWidth / s);
  if (output.length !== expectedRows * rowLen) {
    throw new VisionError(
      'VISION_ERR_BAD_OUTPUT',
      `YOLOX output has ${output.length} values, expected ${expectedRows}×${rowLen} for a ${inputWidth}×${inputHeight} input`,
    );
  }
  const found: PersonDetection[] = [];
  let row = 0;
  for (const s of YOLOX_STRIDES) {
    const cols = Math.floor(inputWidth / s);
    const rows = Math.floor(inputHeight / s);
    for (let gy = 0; gy < rows; gy++) {
      for (let gx = 0; gx < cols; gx++, row++) {
        const o = row * rowLen;
        const score = output[o + 4]! * output[o + 5 + classIndex]!;
        if (!(score >= opts.scoreThreshold)) continue;
        const cx = (output[o]! + gx) * s;
        const cy = (output[o + 1]! + gy) * s;
        const w = Math.exp(output[o + 2]!) * s;
        const h = Math.exp(output[o + 3]!) * s;
        let box = mapCorners(map, cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2);
        if (opts.clip) box = clipBox(box, opts.clip.width, opts.clip.height);
        if (box.w > 0 && box.h > 0) found.push({ box, score });
      }
    }
  }
  return nms(found, opts.nmsIou);
}
