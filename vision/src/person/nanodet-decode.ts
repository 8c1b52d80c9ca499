import { clipBox, IDENTITY_MAP, mapCorners, type BoxMap } from '../box-map.js';
import { nms } from '../nms.js';
import type { PersonDetection } from '../types.js';
import { VisionError } from '../vision-error.js';
import { COCO_PERSON } from './yolox-decode.js';

export const NANODET_STRIDES = [8, 16, 32] as const;

/** One output tensor as the model returned it: its dims and float data. */
export interface RawTensor {
  dims: readonly number[];
  data: Float32Array;
}

export interface NanodetDecodeOptions {
  scoreThreshold: number;
  nmsIou: number;
  map?: BoxMap;
  clip?: { width: number; height: number };
  /** default 80 (COCO) */
  numClasses?: number;
  /** default 0 (person) */
  classIndex?: number;
  /** bins per side − 1; NanoDet-m uses 7 (8 bins) */
  regMax?: number;
}

/**
 * Decode NanoDet-m's GFL head (MANIFEST-person.md). Per stride s the model gives cls [N, classes]
 * (already sigmoid-ed) and reg [N, 4·(regMax+1)], N = ceil(H/s)·ceil(W/s), row-major. The old
 * export's output names are scrambled, so tensors are picked by shape, never by name.
 * Cell (x, y) has centre (x·s + (s−1)/2, y·s + (s−1)/2); each side's distance is s·Σ i·softmax(bins)_i;
 * box = [cx − l, cy − t, cx + r, cy + b]; score = cls[classIndex].
 */
export function decodeNanodet(
  tensors: readonly RawTensor[],
  inputWidth: number,
  inputHeight: number,
  opts: NanodetDecodeOptions,
): PersonDetection[] {
  const numClasses = opts.numClasses ?? 80;
  const classIndex = opts.classIndex ?? COCO_PERSON;
  const bins = (opts.regMax ?? 7) + 1;
  const regLen = 4 * bins;
  const map = opts.map ?? IDENTITY_MAP;
  const found: PersonDetection[] = [];
  const probs = new Float64Array(bins);

  for (const s of NANODET_STRIDES) {
    const cols = Math.ceil(inputWidth / s);
    const rows = Math.ceil(inputHeight / s);
    const n = cols * rows;
    const cls = pick(tensors, n, numClasses, s);
    const reg = pick(tensors, n, regLen, s);
    for (let i = 0; i < n; i++) {
      const score = cls[i * numClasses + classIndex]!;
      if (!(score >= opts.scoreThreshold)) continue;
      const y = Math.floor(i / cols);
      const x = i - y * cols;
      const cx = x * s + (s - 1) / 2;
      const cy = y * s + (s - 1) / 2;
      const o = i * regLen;
      const l = s * expectedBin(reg, o, bins, probs);
      const t = s * expectedBin(reg, o + bins, bins, probs);
      const r = s * expectedBin(reg, o + 2 * bins, bins, probs);
      const b = s * expectedBin(reg, o + 3 * bins, bins, probs);
      let box = mapCorners(map, cx - l, cy - t, cx + r, cy + b);
      if (opts.clip) box = clipBox(box, opts.clip.width, opts.clip.height);
      if (box.w > 0 && box.h > 0) found.push({ box, score });
    }
  }
  return nms(found, opts.nmsIou);
}

/** Σ i·softmax(v[o..o+bins))_i, with the max subtracted so exp cannot overflow. */
function expectedBin(v: Float32Array, o: number, bins: number, scratch: Float64Array): number {
  let max = -Infinity;
  for (let i = 0; i < bins; i++) if (v[o + i]! > max) max = v[o + i]!;
  let sum = 0;
  for (let i = 0; i < bins; i++) {
    const e = Math.exp(v[o + i]! - max);
    scratch[i] = e;
    sum += e;
  }
  let acc = 0;
  for (let i = 1; i < bins; i++) acc += i * scratch[i]!;
  return acc / sum;
}

function pick(tensors: readonly RawTensor[], rows: number, width: number, stride: number): Float32Array {
  const matches = tensors.filter((t) => t.dims[t.dims.length - 1] === width && t.data.length === rows * width);
  if (matches.length !== 1) {
    const seen = tensors.map((t) => `[${t.dims.join(',')}]`).join(' ');
    throw new VisionError(
      'VISION_ERR_BAD_OUTPUT',
      `NanoDet: expected one tensor [${rows},${width}] for stride ${stride}, found ${matches.length} among ${seen}`,
    );
  }
  return matches[0]!.data;
}
