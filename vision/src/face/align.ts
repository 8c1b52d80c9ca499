import { roundNonNegative } from '../round-non-negative.js';
import type { Frame, Point } from '../types.js';

/**
 * The ArcFace 112×112 five-point template (insightface `arcface_dst`), in the landmark order of
 * `FaceDetection`: subject's right eye (image left), left eye, nose tip, right mouth corner, left
 * mouth corner. Every embedder in models/manifest.json was trained on crops aligned to it.
 */
export const ARCFACE_TEMPLATE_112: readonly Point[] = Object.freeze([
  [38.2946, 51.6963],
  [73.5318, 51.5014],
  [56.0252, 71.7366],
  [41.5493, 92.3655],
  [70.7299, 92.2041],
] as Point[]);

export const ALIGNED_FACE_SIZE_PX = 112;

/**
 * A 2-D similarity (rotation + uniform scale + translation, never a reflection):
 * x' = a·x − b·y + tx, y' = b·x + a·y + ty. The scale is √(a²+b²), the angle atan2(b, a).
 */
export interface SimilarityTransform {
  a: number;
  b: number;
  tx: number;
  ty: number;
}

/** A face warped to the template frame: packed BGR24, `size`×`size`, plus the frame→crop transform. */
export interface AlignedFace {
  size: number;
  data: Uint8Array;
  /** maps frame pixels to crop pixels */
  transform: SimilarityTransform;
}

export class FaceAlignError extends Error {
  readonly code = 'FACE_ERR_DEGENERATE_LANDMARKS';
  constructor(message: string) {
    super(message);
    this.name = 'FaceAlignError';
  }
}

/**
 * Least-squares similarity from `src` to `dst` (Umeyama 1991, restricted to proper rotations).
 * In 2-D a proper similarity is multiplication by one complex number c = a + ib plus a
 * translation, so the least-squares c has a closed form: c = Σ conj(zᵢ)·wᵢ / Σ|zᵢ|² over the
 * centred points. That is the same optimum as Umeyama's SVD with the det(R) = +1 correction, but
 * needs no SVD, and a reflection cannot arise because a complex product only rotates and scales.
 */
export function estimateSimilarity(src: readonly Point[], dst: readonly Point[]): SimilarityTransform {
  if (src.length !== dst.length || src.length < 2) {
    throw new FaceAlignError(
      `need the same number (≥ 2) of source and target points, got ${src.length} and ${dst.length}`,
    );
  }
  const n = src.length;
  let sx = 0;
  let sy = 0;
  let dx = 0;
  let dy = 0;
  for (let i = 0; i < n; i++) {
    sx += src[i]![0];
    sy += src[i]![1];
    dx += dst[i]![0];
    dy += dst[i]![1];
  }
  sx /= n;
  sy /= n;
  dx /= n;
  dy /= n;
  let num = 0;
  let cross = 0;
  let norm = 0;
  for (let i = 0; i < n; i++) {
    const zx = src[i]![0] - sx;
    const zy = src[i]![1] - sy;
    const wx = dst[i]![0] - dx;
    const wy = dst[i]![1] - dy;
    num += zx * wx + zy * wy;
    cross += zx * wy - zy * wx;
    norm += zx * zx + zy * zy;
  }
  if (!(norm > 1e-9) || !Number.isFinite(norm + num + cross)) {
    throw new FaceAlignError('source points are coincident or not finite: no similarity transform');
  }
  const a = num / norm;
  const b = cross / norm;
  return { a, b, tx: dx - (a * sx - b * sy), ty: dy - (b * sx + a * sy) };
}

export function applySimilarity(t: SimilarityTransform, p: Point): Point {
  return [t.a * p[0] - t.b * p[1] + t.tx, t.b * p[0] + t.a * p[1] + t.ty];
}

export function invertSimilarity(t: SimilarityTransform): SimilarityTransform {
  const s2 = t.a * t.a + t.b * t.b;
  const a = t.a / s2;
  const b = -t.b / s2;
  return { a, b, tx: -(a * t.tx - b * t.ty), ty: -(b * t.tx + a * t.ty) };
}

export function similarityScale(t: SimilarityTransform): number {
  return Math.hypot(t.a, t.b);
}

/**
 * Warp a packed 3-channel image with `t` (source → destination) into a `outW`×`outH` image, by
 * inverse mapping each destination pixel and sampling bilinearly. Like cv2.warpAffine with
 * INTER_LINEAR and BORDER_CONSTANT 0: pixel centres sit on integer coordinates and each of the four
 * neighbours outside the source counts as 0, so the border fades instead of being clamped.
 */
export function warpSimilarity(
  src: { width: number; height: number; data: Uint8Array },
  t: SimilarityTransform,
  outW: number,
  outH: number,
  out: Uint8Array = new Uint8Array(outW * outH * 3),
): Uint8Array {
  const inv = invertSimilarity(t);
  const ia = inv.a;
  const ib = inv.b;
  const itx = inv.tx;
  const ity = inv.ty;
  const w = src.width;
  const h = src.height;
  const data = src.data;
  const stride = w * 3;
  const xMax = w - 1;
  const yMax = h - 1;
  let o = 0;
  for (let v = 0; v < outH; v++) {
    // source coordinates of (0, v); each step in u adds (inv.a, inv.b)
    let x = -ib * v + itx;
    let y = ia * v + ity;
    for (let u = 0; u < outW; u++, x += ia, y += ib, o += 3) {
      if (x >= 0 && y >= 0 && x < xMax && y < yMax) {
        // All four neighbours inside (nearly every pixel). x, y ≥ 0, so truncation is the floor;
        // the sum is the general one below, unrolled in the same order, so the bytes are identical.
        const x0 = x | 0;
        const y0 = y | 0;
        const fx = x - x0;
        const fy = y - y0;
        const w00 = (1 - fx) * (1 - fy);
        const w10 = fx * (1 - fy);
        const w01 = (1 - fx) * fy;
        const w11 = fx * fy;
        const p00 = y0 * stride + x0 * 3;
        const p01 = p00 + stride;
        out[o] = roundNonNegative(w00 * data[p00]! + w10 * data[p00 + 3]! + w01 * data[p01]! + w11 * data[p01 + 3]!);
        out[o + 1] = roundNonNegative(
          w00 * data[p00 + 1]! + w10 * data[p00 + 4]! + w01 * data[p01 + 1]! + w11 * data[p01 + 4]!,
        );
        out[o + 2] = roundNonNegative(
          w00 * data[p00 + 2]! + w10 * data[p00 + 5]! + w01 * data[p01 + 2]! + w11 * data[p01 + 5]!,
        );
        continue;
      }
      const x0 = Math.floor(x);
      const y0 = Math.floor(y);
      if (x0 < -1 || y0 < -1 || x0 >= w || y0 >= h) {
        out[o] = 0;
        out[o + 1] = 0;
        out[o + 2] = 0;
        continue;
      }
      borderPixel(data, w, h, x0, y0, x - x0, y - y0, out, o);
    }
  }
  return out;
}

/** A pixel whose neighbours straddle the source edge: the ones outside count as 0. */
function borderPixel(
  data: Uint8Array,
  w: number,
  h: number,
  x0: number,
  y0: number,
  fx: number,
  fy: number,
  out: Uint8Array,
  o: number,
): void {
  const stride = w * 3;
  const in00 = x0 >= 0 && y0 >= 0;
  const in10 = x0 + 1 < w && y0 >= 0;
  const in01 = x0 >= 0 && y0 + 1 < h;
  const in11 = x0 + 1 < w && y0 + 1 < h;
  const w00 = (1 - fx) * (1 - fy);
  const w10 = fx * (1 - fy);
  const w01 = (1 - fx) * fy;
  const w11 = fx * fy;
  const p00 = y0 * stride + x0 * 3;
  for (let c = 0; c < 3; c++) {
    let acc = 0;
    if (in00) acc += w00 * data[p00 + c]!;
    if (in10) acc += w10 * data[p00 + 3 + c]!;
    if (in01) acc += w01 * data[p00 + stride + c]!;
    if (in11) acc += w11 * data[p00 + stride + 3 + c]!;
    out[o + c] = Math.round(acc);
  }
}

/** Align a detected face to the ArcFace 112×112 template. The caller owns (and should zero) `data`. */
export function alignFace(
  frame: Pick<Frame, 'width' | 'height' | 'data'>,
  landmarks: readonly Point[],
  out?: Uint8Array,
): AlignedFace {
  if (landmarks.length !== ARCFACE_TEMPLATE_112.length) {
    throw new FaceAlignError(`expected 5 landmarks, got ${landmarks.length}`);
  }
  const transform = estimateSimilarity(landmarks, ARCFACE_TEMPLATE_112);
  const size = ALIGNED_FACE_SIZE_PX;
  return { size, transform, data: warpSimilarity(frame, transform, size, size, out) };
}
