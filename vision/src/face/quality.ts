import type { FaceDetection, Point } from '../types.js';
import { ARCFACE_TEMPLATE_112, type AlignedFace } from './align.js';

/** Minimums (hard limits: a frame below one is not used) and the levels where each sub-score reaches 1. */
export interface QualityOptions {
  /** shorter side of the detector box, px in the frame */
  minFaceSizePx: number;
  /** box side at which the size sub-score saturates */
  goodFaceSizePx: number;
  /** distance between the two eye landmarks, px in the frame (the template has 35.2 px at 112×112) */
  minInterOcularPx: number;
  /** variance of the 4-neighbour Laplacian of the aligned gray crop, in (grey levels)² */
  minSharpness: number;
  /** sharpness at which the sharpness sub-score saturates */
  goodSharpness: number;
  maxYawDeg: number;
  maxPitchDeg: number;
  maxRollDeg: number;
}

/**
 * Defaults for a gate camera, from measurements (scripts/eval-faces.ts and bench-faces.ts print
 * the statistics):
 * - Size: below ~20 px between the eyes the 112×112 crop is mostly interpolation.
 * - Sharpness: on the 1,583 LFW dev faces the 5th percentile is 50 and the median 131; 3 fall
 *   under 25. On the low-resolution clips of bench-faces.ts (mostly GIF-derived 480×270) 44 % of
 *   passages do.
 * - Yaw: with this landmark-only estimate, 272 LFW faces (17 %) read above 30°, yet genuine pairs
 *   involving them matched as well as the others (median cosine 0.614 vs 0.636, same false-reject
 *   rate at FAR 1e-2, for both MobileFaceNets), so 30° rejected usable faces; 45° keeps the
 *   clearly turned ones out (95th percentile on LFW: 41°). The score still prefers frontal frames.
 */
export const DEFAULT_QUALITY_OPTIONS: Readonly<QualityOptions> = Object.freeze({
  minFaceSizePx: 48,
  goodFaceSizePx: 96,
  minInterOcularPx: 20,
  minSharpness: 25,
  goodSharpness: 100,
  maxYawDeg: 45,
  maxPitchDeg: 25,
  maxRollDeg: 30,
});

export type QualityFailure = 'face-too-small' | 'eyes-too-close' | 'blurred' | 'yaw' | 'pitch' | 'roll';

export interface PoseEstimate {
  /** positive: the nose points to the image right */
  yawDeg: number;
  /** positive: the face looks down */
  pitchDeg: number;
  /** positive: the eye line goes down to the image right (clockwise in the image) */
  rollDeg: number;
}

export interface QualityReport extends PoseEstimate {
  faceSizePx: number;
  interOcularPx: number;
  sharpness: number;
  detectionScore: number;
  /** the minimums this face fails, empty when usable */
  failures: QualityFailure[];
  ok: boolean;
  /** 0..1, product of the size, sharpness and pose sub-scores; 0 whenever a minimum fails */
  score: number;
}

/**
 * Nose-tip depth in front of the eye centres, divided by half the inter-ocular distance. With a
 * weak-perspective camera a yaw θ moves the nose off the eye/mouth midline by depth·sin θ while
 * the half eye distance shrinks to e·cos θ, so offset/e = K·tan θ. K ≈ 0.7 is a generic adult head
 * (nose tip ~22 mm in front of the pupils, half IOD ~31 mm); the angles are estimates for gating,
 * not a head-pose measurement.
 */
const NOSE_DEPTH_PER_HALF_IOD = 0.7;

const T = ARCFACE_TEMPLATE_112;
/** (nose − eyes) / (mouth − eyes) along the face's vertical axis in the ArcFace template: 0.495 */
export const TEMPLATE_NOSE_RATIO =
  (T[2]![1] - (T[0]![1] + T[1]![1]) / 2) / ((T[3]![1] + T[4]![1]) / 2 - (T[0]![1] + T[1]![1]) / 2);
/**
 * The same ratio for a frontal face with YuNet landmarks. YuNet puts the nose point lower (and the
 * mouth higher) than the detector behind the ArcFace template: over 400 LFW dev faces the median
 * is 0.562 (quartiles 0.535 / 0.587), against 0.495 for the template, which would read as a
 * 13° downward pitch on every face. Press photos are taken near eye level, so their median is
 * taken as frontal.
 */
export const YUNET_FRONTAL_NOSE_RATIO = 0.562;
/** eyes-to-mouth distance over half the eye distance, from the template */
const EYE_MOUTH_PER_HALF_IOD =
  ((T[3]![1] + T[4]![1]) / 2 - (T[0]![1] + T[1]![1]) / 2) / (Math.hypot(T[1]![0] - T[0]![0], T[1]![1] - T[0]![1]) / 2);

const RAD = 180 / Math.PI;

/**
 * Yaw, pitch and roll estimated from the five landmarks alone. `frontalNoseRatio` is the nose
 * height ratio of a frontal face for the detector that placed the landmarks.
 */
export function estimatePose(landmarks: readonly Point[], frontalNoseRatio = YUNET_FRONTAL_NOSE_RATIO): PoseEstimate {
  const [re, le, nose, rm, lm] = landmarks as [Point, Point, Point, Point, Point];
  const roll = Math.atan2(le[1] - re[1], le[0] - re[0]);
  // express every point in the face's own axes (eye line = x), origin at the eye midpoint
  const ox = (re[0] + le[0]) / 2;
  const oy = (re[1] + le[1]) / 2;
  const c = Math.cos(-roll);
  const s = Math.sin(-roll);
  const local = (p: Point): Point => [c * (p[0] - ox) - s * (p[1] - oy), s * (p[0] - ox) + c * (p[1] - oy)];
  const n = local(nose);
  const r = local(rm);
  const l = local(lm);
  const halfIod = Math.hypot(le[0] - re[0], le[1] - re[1]) / 2;
  const mouth: Point = [(r[0] + l[0]) / 2, (r[1] + l[1]) / 2];
  // the midline: halfway between the eye midpoint (0) and the mouth midpoint, both near the same depth
  const midX = mouth[0] / 2;
  const yaw = halfIod > 0 ? Math.atan((n[0] - midX) / halfIod / NOSE_DEPTH_PER_HALF_IOD) : 0;
  // pitch: the nose's height between eyes and mouth drifts from the frontal ratio by (depth/eye-mouth)·tan φ
  const eyeMouth = mouth[1];
  let pitch = 0;
  if (Math.abs(eyeMouth) > 1e-6) {
    const ratio = n[1] / eyeMouth;
    pitch = Math.atan((ratio - frontalNoseRatio) / (NOSE_DEPTH_PER_HALF_IOD / EYE_MOUTH_PER_HALF_IOD));
  }
  return { yawDeg: yaw * RAD, pitchDeg: pitch * RAD, rollDeg: roll * RAD };
}

/**
 * Variance of the 4-neighbour Laplacian (the cv2.Laplacian ksize=1 kernel) of the grey image, over
 * the inner `margin`-px-trimmed region. Trimming keeps the zero border that alignment leaves where
 * the face touches the frame edge from counting as detail.
 */
export function laplacianVariance(gray: Float32Array | Uint8Array, width: number, height: number, margin = 1): number {
  const m = Math.max(1, margin);
  let sum = 0;
  let sumSq = 0;
  let count = 0;
  for (let y = m; y < height - m; y++) {
    const row = y * width;
    for (let x = m; x < width - m; x++) {
      const i = row + x;
      const lap = gray[i - 1]! + gray[i + 1]! + gray[i - width]! + gray[i + width]! - 4 * gray[i]!;
      sum += lap;
      sumSq += lap * lap;
      count++;
    }
  }
  if (count === 0) return 0;
  const mean = sum / count;
  return sumSq / count - mean * mean;
}

/** BGR24 → grey with the BT.601 weights cv2.cvtColor uses. */
export function bgrToGray(bgr: Uint8Array, pixels: number, out: Float32Array = new Float32Array(pixels)): Float32Array {
  for (let i = 0, o = 0; i < pixels; i++, o += 3) {
    out[i] = 0.114 * bgr[o]! + 0.587 * bgr[o + 1]! + 0.299 * bgr[o + 2]!;
  }
  return out;
}

/**
 * Margin trimmed before measuring sharpness on the 112×112 crop: the template's face spans roughly
 * 30..82 horizontally, so 16 px keeps the face and most of the hair line and drops the corners.
 */
const SHARPNESS_MARGIN_PX = 16;

/** Scratch grey window, reused across calls (this runs per frame; the function is synchronous). */
let grayScratch = new Float32Array(0);

/**
 * Sharpness of an aligned crop (see `laplacianVariance`). Only the window the trimmed Laplacian
 * reads, the inner region plus a 1-px ring, is converted to grey (82×82 of 112×112): the same
 * values, visited in the same order, as converting the whole crop. The grey copy is zeroed before
 * returning.
 */
export function alignedSharpness(aligned: AlignedFace): number {
  const size = aligned.size;
  const m = Math.max(1, SHARPNESS_MARGIN_PX);
  const side = size - 2 * m + 2;
  if (side < 3) return 0;
  const pixels = side * side;
  if (grayScratch.length < pixels) grayScratch = new Float32Array(pixels);
  const gray = grayScratch;
  const bgr = aligned.data;
  for (let y = 0, i = 0; y < side; y++) {
    for (let x = 0, p = ((y + m - 1) * size + m - 1) * 3; x < side; x++, i++, p += 3) {
      gray[i] = 0.114 * bgr[p]! + 0.587 * bgr[p + 1]! + 0.299 * bgr[p + 2]!;
    }
  }
  const v = laplacianVariance(gray, side, side, 1);
  gray.fill(0, 0, pixels);
  return v;
}

function ramp(value: number, min: number, good: number): number {
  if (!(value >= min)) return 0;
  if (good <= min) return 1;
  return Math.min(1, (value - min) / (good - min));
}

function poseFactor(angleDeg: number, maxDeg: number): number {
  const r = Math.abs(angleDeg) / maxDeg;
  return r >= 1 ? 0 : 1 - r * r;
}

/** Size, sharpness and pose of one detected face, measured on the frame box and its aligned crop. */
export function assessQuality(
  face: FaceDetection,
  aligned: AlignedFace,
  options: Partial<QualityOptions> = {},
): QualityReport {
  const o: QualityOptions = { ...DEFAULT_QUALITY_OPTIONS, ...options };
  const [re, le] = face.landmarks;
  const interOcularPx = Math.hypot(le[0] - re[0], le[1] - re[1]);
  const faceSizePx = Math.min(face.box.w, face.box.h);
  const sharpness = alignedSharpness(aligned);
  const pose = estimatePose(face.landmarks);
  const failures: QualityFailure[] = [];
  if (faceSizePx < o.minFaceSizePx) failures.push('face-too-small');
  if (interOcularPx < o.minInterOcularPx) failures.push('eyes-too-close');
  if (sharpness < o.minSharpness) failures.push('blurred');
  if (Math.abs(pose.yawDeg) > o.maxYawDeg) failures.push('yaw');
  if (Math.abs(pose.pitchDeg) > o.maxPitchDeg) failures.push('pitch');
  if (Math.abs(pose.rollDeg) > o.maxRollDeg) failures.push('roll');
  const ok = failures.length === 0;
  const score = ok
    ? ramp(faceSizePx, o.minFaceSizePx, o.goodFaceSizePx) *
      ramp(sharpness, o.minSharpness, o.goodSharpness) *
      poseFactor(pose.yawDeg, o.maxYawDeg) *
      poseFactor(pose.pitchDeg, o.maxPitchDeg) *
      poseFactor(pose.rollDeg, o.maxRollDeg)
    : 0;
  return {
    faceSizePx,
    interOcularPx,
    sharpness,
    detectionScore: face.score,
    ...pose,
    failures,
    ok,
    score,
  };
}
