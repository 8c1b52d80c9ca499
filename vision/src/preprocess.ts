import type { BoxMap } from './box-map.js';
import { VisionError } from './vision-error.js';

/** A packed 3-channel 8-bit image (a `Frame` fits), row-major, no row padding. */
export interface PackedImage {
  data: Uint8Array;
  width: number;
  height: number;
}

/**
 * Where the source image goes in the model input: it is resized (bilinear) to
 * resizedWidth × resizedHeight and its top-left corner placed at (offsetX, offsetY) of a
 * dstWidth × dstHeight tensor; the rest is padding.
 */
export interface ResizePlan {
  srcWidth: number;
  srcHeight: number;
  resizedWidth: number;
  resizedHeight: number;
  dstWidth: number;
  dstHeight: number;
  offsetX: number;
  offsetY: number;
}

export type Placement = 'top-left' | 'centre';

/**
 * Letterbox: the largest scale r = min(dstW/srcW, dstH/srcH) that fits, resized size
 * round(src·r), placed at the top-left (YOLOX) or centred (NanoDet). Small sources are scaled up.
 */
export function planLetterbox(
  srcWidth: number,
  srcHeight: number,
  dstWidth: number,
  dstHeight: number,
  placement: Placement = 'top-left',
): ResizePlan {
  assertPositiveSize(srcWidth, srcHeight);
  assertPositiveSize(dstWidth, dstHeight);
  const r = Math.min(dstWidth / srcWidth, dstHeight / srcHeight);
  const resizedWidth = Math.max(1, Math.min(dstWidth, Math.round(srcWidth * r)));
  const resizedHeight = Math.max(1, Math.min(dstHeight, Math.round(srcHeight * r)));
  const centre = placement === 'centre';
  return {
    srcWidth,
    srcHeight,
    resizedWidth,
    resizedHeight,
    dstWidth,
    dstHeight,
    offsetX: centre ? Math.floor((dstWidth - resizedWidth) / 2) : 0,
    offsetY: centre ? Math.floor((dstHeight - resizedHeight) / 2) : 0,
  };
}

/**
 * For dynamic-shape models (YuNet): downscale only when the longer side exceeds maxSide, then
 * pad bottom/right up to a multiple of `multiple`.
 */
export function planPadToMultiple(
  srcWidth: number,
  srcHeight: number,
  multiple: number,
  maxSide = Number.POSITIVE_INFINITY,
): ResizePlan {
  assertPositiveSize(srcWidth, srcHeight);
  const longer = Math.max(srcWidth, srcHeight);
  const s = longer > maxSide ? maxSide / longer : 1;
  const resizedWidth = Math.max(1, Math.round(srcWidth * s));
  const resizedHeight = Math.max(1, Math.round(srcHeight * s));
  return {
    srcWidth,
    srcHeight,
    resizedWidth,
    resizedHeight,
    dstWidth: Math.ceil(resizedWidth / multiple) * multiple,
    dstHeight: Math.ceil(resizedHeight / multiple) * multiple,
    offsetX: 0,
    offsetY: 0,
  };
}

/** The map from model-input coordinates back to source-image coordinates for a plan. */
export function planToBoxMap(plan: ResizePlan): BoxMap {
  return {
    offsetX: plan.offsetX,
    offsetY: plan.offsetY,
    scaleX: plan.srcWidth / plan.resizedWidth,
    scaleY: plan.srcHeight / plan.resizedHeight,
  };
}

export interface TensorFormat {
  /** subtracted per OUTPUT channel (after any swap); default 0 */
  mean?: readonly [number, number, number];
  /** divides per OUTPUT channel (after any swap); default 1 */
  std?: readonly [number, number, number];
  /** swap the first and third channels (BGR in → RGB out); default false */
  swapRB?: boolean;
  /** pixel value of the padding, before mean/std (YOLOX 114, YuNet and NanoDet 0); default 0 */
  padValue?: number;
}

export interface PreparedTensor {
  /** NCHW float32, 1×3×dstHeight×dstWidth. Owned by the preprocessor: overwritten by the next run */
  data: Float32Array;
  plan: ResizePlan;
}

export interface Preprocessor {
  run(image: PackedImage): PreparedTensor;
}

interface Workspace {
  plan: ResizePlan;
  out: Float32Array;
  /**
   * per SOURCE channel: byte value → normalised float, the exact float32 of (v − mean)·(1/std) for
   * the output channel it lands in. One table load replaces a subtract, a multiply and a conversion.
   */
  lut0: Float32Array;
  lut1: Float32Array;
  lut2: Float32Array;
  /** mean 0 and std 1 on every channel: bytes are stored as they are */
  identity: boolean;
  /** per resized column: byte offsets of the two source pixels and the weight of the right one */
  colA: Int32Array;
  colB: Int32Array;
  colW: Float32Array;
  /** per resized row: source rows and the weight of the lower one */
  rowA: Int32Array;
  rowB: Int32Array;
  rowW: Float32Array;
}

/**
 * A per-stream preprocessor: packed BGR/RGB bytes → NCHW float32 with optional resize, padding,
 * channel swap and mean/std, in one pass. Buffers and interpolation tables are allocated once
 * per source size and reused, since this runs on every frame.
 */
export function createPreprocessor(
  planFor: (srcWidth: number, srcHeight: number) => ResizePlan,
  format: TensorFormat = {},
): Preprocessor {
  const mean = format.mean ?? [0, 0, 0];
  const std = format.std ?? [1, 1, 1];
  const swap = format.swapRB === true;
  const padValue = format.padValue ?? 0;
  let ws: Workspace | undefined;

  return {
    run(image: PackedImage): PreparedTensor {
      const { width, height, data } = image;
      if (data.length !== width * height * 3) {
        throw new VisionError(
          'VISION_ERR_BAD_FRAME',
          `image buffer has ${data.length} bytes, expected ${width}×${height}×3 = ${width * height * 3}`,
        );
      }
      if (!ws || ws.plan.srcWidth !== width || ws.plan.srcHeight !== height) {
        ws = makeWorkspace(planFor(width, height), mean, std, swap, padValue, ws);
      }
      writeTensor(data, ws, mean, std, swap);
      return { data: ws.out, plan: ws.plan };
    },
  };
}

function makeWorkspace(
  plan: ResizePlan,
  mean: readonly number[],
  std: readonly number[],
  swap: boolean,
  padValue: number,
  previous: Workspace | undefined,
): Workspace {
  const { srcWidth, srcHeight, resizedWidth, resizedHeight, dstWidth, dstHeight, offsetX, offsetY } = plan;
  if (offsetX < 0 || offsetY < 0 || offsetX + resizedWidth > dstWidth || offsetY + resizedHeight > dstHeight) {
    throw new RangeError(`resize plan does not fit its tensor: ${JSON.stringify(plan)}`);
  }
  const size = 3 * dstWidth * dstHeight;
  const out = previous && previous.out.length === size ? previous.out : new Float32Array(size);
  // The padding never changes for a given plan, so it is written once here, not per frame.
  const plane = dstWidth * dstHeight;
  for (let c = 0; c < 3; c++) out.fill((padValue - mean[c]!) / std[c]!, c * plane, (c + 1) * plane);

  const colA = new Int32Array(resizedWidth);
  const colB = new Int32Array(resizedWidth);
  const colW = new Float32Array(resizedWidth);
  fillAxis(srcWidth, resizedWidth, colA, colB, colW);
  for (let i = 0; i < resizedWidth; i++) {
    colA[i] = colA[i]! * 3;
    colB[i] = colB[i]! * 3;
  }
  const rowA = new Int32Array(resizedHeight);
  const rowB = new Int32Array(resizedHeight);
  const rowW = new Float32Array(resizedHeight);
  fillAxis(srcHeight, resizedHeight, rowA, rowB, rowW);
  // source channel k lands in output channel k, or 2 − k when swapping
  const lut = (k: number): Float32Array => {
    const c = swap ? 2 - k : k;
    const m = mean[c]!;
    const inv = 1 / std[c]!;
    const t = new Float32Array(256);
    for (let v = 0; v < 256; v++) t[v] = (v - m) * inv;
    return t;
  };
  const identity = mean.every((m) => m === 0) && std.every((x) => x === 1);
  return { plan, out, lut0: lut(0), lut1: lut(1), lut2: lut(2), identity, colA, colB, colW, rowA, rowB, rowW };
}

/**
 * Bilinear sample positions with pixel centres aligned (as cv2.resize INTER_LINEAR):
 * src = (dst + 0.5)·(srcSize/dstSize) − 0.5, clamped to the edge pixels.
 */
function fillAxis(srcSize: number, dstSize: number, a: Int32Array, b: Int32Array, w: Float32Array): void {
  const scale = srcSize / dstSize;
  for (let d = 0; d < dstSize; d++) {
    let s = (d + 0.5) * scale - 0.5;
    if (s < 0) s = 0;
    let i0 = Math.floor(s);
    let frac = s - i0;
    if (i0 >= srcSize - 1) {
      i0 = srcSize - 1;
      frac = 0;
    }
    a[d] = i0;
    b[d] = frac > 0 ? i0 + 1 : i0;
    w[d] = frac;
  }
}

function writeTensor(
  src: Uint8Array,
  ws: Workspace,
  mean: readonly number[],
  std: readonly number[],
  swap: boolean,
): void {
  const { plan, out, colA, colB, colW, rowA, rowB, rowW } = ws;
  const { srcWidth, resizedWidth, resizedHeight, dstWidth, dstHeight, offsetX, offsetY } = plan;
  const plane = dstWidth * dstHeight;
  // source channel k goes to output plane pk; mean/std are given per output channel
  const p0 = swap ? 2 * plane : 0;
  const p1 = plane;
  const p2 = swap ? 0 : 2 * plane;
  const m0 = swap ? mean[2]! : mean[0]!;
  const m1 = mean[1]!;
  const m2 = swap ? mean[0]! : mean[2]!;
  const k0 = 1 / (swap ? std[2]! : std[0]!);
  const k1 = 1 / std[1]!;
  const k2 = 1 / (swap ? std[0]! : std[2]!);
  const srcStride = srcWidth * 3;

  if (resizedWidth === srcWidth && resizedHeight === plan.srcHeight) {
    deinterleave(src, ws, p0, p1, p2);
    return;
  }

  // Four-tap bilinear straight from the interleaved bytes. A separable variant (resize each source
  // row once, then blend rows) was measured slower here: V8 keeps this single loop in registers.
  for (let y = 0; y < resizedHeight; y++) {
    const r0 = rowA[y]! * srcStride;
    const r1 = rowB[y]! * srcStride;
    const wy = rowW[y]!;
    let o = (y + offsetY) * dstWidth + offsetX;
    for (let x = 0; x < resizedWidth; x++, o++) {
      const wx = colW[x]!;
      const a = r0 + colA[x]!;
      const b = r0 + colB[x]!;
      const c = r1 + colA[x]!;
      const d = r1 + colB[x]!;
      let top = src[a]! + (src[b]! - src[a]!) * wx;
      let bot = src[c]! + (src[d]! - src[c]!) * wx;
      out[p0 + o] = (top + (bot - top) * wy - m0) * k0;
      top = src[a + 1]! + (src[b + 1]! - src[a + 1]!) * wx;
      bot = src[c + 1]! + (src[d + 1]! - src[c + 1]!) * wx;
      out[p1 + o] = (top + (bot - top) * wy - m1) * k1;
      top = src[a + 2]! + (src[b + 2]! - src[a + 2]!) * wx;
      bot = src[c + 2]! + (src[d + 2]! - src[c + 2]!) * wx;
      out[p2 + o] = (top + (bot - top) * wy - m2) * k2;
    }
  }
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * No resize: a straight de-interleave into the planes. This is YuNet's path for every frame up to
 * 640 px, so it is the hot one. When the image rows are contiguous in the tensor (no left/right
 * padding) and the bytes are 4-aligned, it reads three 32-bit little-endian words per four pixels
 * instead of twelve bytes, and stores bytes as they are when there is no normalisation: on the
 * 2-core box a 640×360 frame went from 2.8 to 1.6 ms (frames cycling, so out of cache), bit-identical.
 */
function deinterleave(src: Uint8Array, ws: Workspace, p0: number, p1: number, p2: number): void {
  const { plan, out, lut0, lut1, lut2, identity } = ws;
  const { srcWidth, srcHeight, dstWidth, offsetX, offsetY } = plan;
  const first = offsetY * dstWidth + offsetX;
  if (LITTLE_ENDIAN && offsetX === 0 && dstWidth === srcWidth && src.byteOffset % 4 === 0) {
    const n = srcWidth * srcHeight;
    const quads = n >> 2;
    const words = new Uint32Array(src.buffer, src.byteOffset, quads * 3);
    // little-endian words over B0 G0 R0 B1 | G1 R1 B2 G2 | R2 B3 G3 R3
    if (identity) {
      for (let q = 0, w = 0, o = first; q < quads; q++, w += 3, o += 4) {
        const a = words[w]!;
        const b = words[w + 1]!;
        const c = words[w + 2]!;
        out[p0 + o] = a & 0xff;
        out[p1 + o] = (a >>> 8) & 0xff;
        out[p2 + o] = (a >>> 16) & 0xff;
        out[p0 + o + 1] = a >>> 24;
        out[p1 + o + 1] = b & 0xff;
        out[p2 + o + 1] = (b >>> 8) & 0xff;
        out[p0 + o + 2] = (b >>> 16) & 0xff;
        out[p1 + o + 2] = b >>> 24;
        out[p2 + o + 2] = c & 0xff;
        out[p0 + o + 3] = (c >>> 8) & 0xff;
        out[p1 + o + 3] = (c >>> 16) & 0xff;
        out[p2 + o + 3] = c >>> 24;
      }
    } else {
      for (let q = 0, w = 0, o = first; q < quads; q++, w += 3, o += 4) {
        const a = words[w]!;
        const b = words[w + 1]!;
        const c = words[w + 2]!;
        out[p0 + o] = lut0[a & 0xff]!;
        out[p1 + o] = lut1[(a >>> 8) & 0xff]!;
        out[p2 + o] = lut2[(a >>> 16) & 0xff]!;
        out[p0 + o + 1] = lut0[a >>> 24]!;
        out[p1 + o + 1] = lut1[b & 0xff]!;
        out[p2 + o + 1] = lut2[(b >>> 8) & 0xff]!;
        out[p0 + o + 2] = lut0[(b >>> 16) & 0xff]!;
        out[p1 + o + 2] = lut1[b >>> 24]!;
        out[p2 + o + 2] = lut2[c & 0xff]!;
        out[p0 + o + 3] = lut0[(c >>> 8) & 0xff]!;
        out[p1 + o + 3] = lut1[(c >>> 16) & 0xff]!;
        out[p2 + o + 3] = lut2[c >>> 24]!;
      }
    }
    // the last n mod 4 pixels
    for (let i = quads * 4, s = i * 3, o = first + i; i < n; i++, s += 3, o++) {
      out[p0 + o] = lut0[src[s]!]!;
      out[p1 + o] = lut1[src[s + 1]!]!;
      out[p2 + o] = lut2[src[s + 2]!]!;
    }
    return;
  }
  const srcStride = srcWidth * 3;
  for (let y = 0; y < srcHeight; y++) {
    let s = y * srcStride;
    let o = first + y * dstWidth;
    const end = o + srcWidth;
    for (; o < end; o++, s += 3) {
      out[p0 + o] = lut0[src[s]!]!;
      out[p1 + o] = lut1[src[s + 1]!]!;
      out[p2 + o] = lut2[src[s + 2]!]!;
    }
  }
}

function assertPositiveSize(width: number, height: number): void {
  if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0)) {
    throw new RangeError(`image size must be positive integers, got ${width}×${height}`);
  }
}
