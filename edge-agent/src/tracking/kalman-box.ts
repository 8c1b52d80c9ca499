import type { Box } from '@portail/vision/types.js';

/**
 * Constant-velocity Kalman filter on a box, state [cx, cy, a, h, vcx, vcy, va, vh] (centre, aspect
 * ratio w/h, height, and their velocities), measurement [cx, cy, a, h], as in DeepSORT and
 * ByteTrack.
 *
 * With this model the 8×8 filter splits exactly into four independent 2-state filters, one per
 * measured quantity: the transition only couples a quantity with its own velocity, and the initial,
 * process and measurement noises are diagonal, so the covariance never gains a term between two
 * quantities. Each quantity therefore keeps a symmetric 2×2 covariance [pp, pv; pv, vv], stored as
 * three numbers. Same results as the dense filter (the test checks this) at a fraction of the work.
 *
 * Time is counted in nominal frames (`dtFrames`); process noise grows linearly with it, so a frame
 * that arrives late gets a wider prediction.
 */
export interface KalmanBoxState {
  /** [cx, cy, a, h, vcx, vcy, va, vh]; velocities per nominal frame */
  readonly mean: Float64Array;
  /** per quantity k: cov[3k] = var(pos), cov[3k+1] = cov(pos, vel), cov[3k+2] = var(vel) */
  readonly cov: Float64Array;
}

/**
 * Noise standard deviations. Position-like terms scale with the box height (a far, small person
 * moves fewer pixels); the aspect ratio gets absolute values. Defaults are the DeepSORT/ByteTrack
 * heuristics (1/20 and 1/160 of the height).
 */
export interface KalmanBoxNoise {
  positionPerHeight: number;
  velocityPerHeight: number;
  aspect: number;
  aspectVelocity: number;
  measurementAspect: number;
}

export const DEFAULT_KALMAN_BOX_NOISE: Readonly<KalmanBoxNoise> = Object.freeze({
  positionPerHeight: 1 / 20,
  velocityPerHeight: 1 / 160,
  aspect: 1e-2,
  aspectVelocity: 1e-5,
  measurementAspect: 1e-1,
});

const NQ = 4; // measured quantities: cx, cy, a, h
const H = 3; // index of the height in the state

// Per-quantity standard deviations, filled in place to avoid allocating on every call.
const posStd = new Float64Array(NQ);
const velStd = new Float64Array(NQ);

function fillStd(h: number, noise: KalmanBoxNoise, posScale: number, velScale: number): void {
  const p = noise.positionPerHeight * h * posScale;
  const v = noise.velocityPerHeight * h * velScale;
  posStd[0] = p;
  posStd[1] = p;
  posStd[2] = noise.aspect;
  posStd[3] = p;
  velStd[0] = v;
  velStd[1] = v;
  velStd[2] = noise.aspectVelocity;
  velStd[3] = v;
}

export function boxToMeasurement(box: Box): [number, number, number, number] {
  return [box.x + box.w / 2, box.y + box.h / 2, box.h > 0 ? box.w / box.h : 0, box.h];
}

/** A new filter centred on `box`, zero velocity, wide velocity uncertainty. */
export function initiateKalmanBox(box: Box, noise: KalmanBoxNoise = DEFAULT_KALMAN_BOX_NOISE): KalmanBoxState {
  const z = boxToMeasurement(box);
  const mean = new Float64Array(2 * NQ);
  mean.set(z);
  const cov = new Float64Array(3 * NQ);
  // Twice the process noise for the position, ten times for the velocity: nothing is known yet.
  fillStd(z[H], noise, 2, 10);
  for (let k = 0; k < NQ; k++) {
    cov[3 * k] = posStd[k]! ** 2;
    cov[3 * k + 2] = velStd[k]! ** 2;
  }
  return { mean, cov };
}

/** Prediction `dtFrames` nominal frames ahead (x += v·dt, P = F P Fᵀ + Q·dt). Returns a new state. */
export function predictKalmanBox(
  state: KalmanBoxState,
  dtFrames: number,
  noise: KalmanBoxNoise = DEFAULT_KALMAN_BOX_NOISE,
): KalmanBoxState {
  const mean = new Float64Array(state.mean);
  const cov = new Float64Array(state.cov);
  fillStd(state.mean[H]!, noise, 1, 1);
  const dt = dtFrames;
  for (let k = 0; k < NQ; k++) {
    mean[k] = mean[k]! + dt * mean[NQ + k]!;
    const pp = cov[3 * k]!;
    const pv = cov[3 * k + 1]!;
    const vv = cov[3 * k + 2]!;
    cov[3 * k] = pp + 2 * dt * pv + dt * dt * vv + posStd[k]! ** 2 * dt;
    cov[3 * k + 1] = pv + dt * vv;
    cov[3 * k + 2] = vv + velStd[k]! ** 2 * dt;
  }
  return { mean, cov };
}

/** Correction with a measured box. Returns a new state. */
export function updateKalmanBox(
  state: KalmanBoxState,
  box: Box,
  noise: KalmanBoxNoise = DEFAULT_KALMAN_BOX_NOISE,
): KalmanBoxState {
  const z = boxToMeasurement(box);
  const mean = new Float64Array(state.mean);
  const cov = new Float64Array(state.cov);
  const hPred = state.mean[H]!;
  const rPos = (noise.positionPerHeight * hPred) ** 2;
  for (let k = 0; k < NQ; k++) {
    const r = k === 2 ? noise.measurementAspect ** 2 : rPos;
    const pp = cov[3 * k]!;
    const pv = cov[3 * k + 1]!;
    const vv = cov[3 * k + 2]!;
    const s = pp + r;
    const kp = pp / s;
    const kv = pv / s;
    const innovation = z[k]! - mean[k]!;
    mean[k] = mean[k]! + kp * innovation;
    mean[NQ + k] = mean[NQ + k]! + kv * innovation;
    cov[3 * k] = pp - kp * pp;
    cov[3 * k + 1] = pv - kp * pv;
    cov[3 * k + 2] = vv - kv * pv;
  }
  return { mean, cov };
}

/** Box of the current estimate; a negative predicted size is clamped to 0. */
export function kalmanBoxToBox(state: KalmanBoxState): Box {
  const [cx, cy, a, h] = state.mean as unknown as [number, number, number, number];
  const hh = Math.max(0, h);
  const w = Math.max(0, a * hh);
  return { x: cx - w / 2, y: cy - hh / 2, w, h: hh };
}
