import { describe, expect, it } from 'vitest';
import {
  DEFAULT_KALMAN_BOX_NOISE as N,
  boxToMeasurement,
  initiateKalmanBox,
  kalmanBoxToBox,
  predictKalmanBox,
  updateKalmanBox,
  type KalmanBoxState,
} from './kalman-box.js';

// A plain dense 8x8 Kalman filter, written from the textbook equations, as the reference.
type M = number[][];
const zeros = (r: number, c: number): M => Array.from({ length: r }, () => new Array<number>(c).fill(0));
const mul = (a: M, b: M): M => a.map((row) => b[0]!.map((_, j) => row.reduce((s, v, k) => s + v * b[k]![j]!, 0)));
const tr = (a: M): M => a[0]!.map((_, j) => a.map((row) => row[j]!));
const add = (a: M, b: M): M => a.map((row, i) => row.map((v, j) => v + b[i]![j]!));
const sub = (a: M, b: M): M => a.map((row, i) => row.map((v, j) => v - b[i]![j]!));
const diag = (v: number[]): M => v.map((x, i) => v.map((_, j) => (i === j ? x : 0)));
function inv4(a: M): M {
  // Gauss-Jordan, fine for a well-conditioned 4x4 innovation covariance
  const n = a.length;
  const m = a.map((row, i) => [...row, ...diag(new Array<number>(n).fill(1))[i]!]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r]![c]!) > Math.abs(m[p]![c]!)) p = r;
    [m[c], m[p]] = [m[p]!, m[c]!];
    const pv = m[c]![c]!;
    m[c] = m[c]!.map((v) => v / pv);
    for (let r = 0; r < n; r++) if (r !== c) m[r] = m[r]!.map((v, j) => v - m[r]![c]! * m[c]![j]!);
  }
  return m.map((row) => row.slice(n));
}

interface Dense {
  x: M; // 8x1
  P: M; // 8x8
}
const H = (() => {
  const h = zeros(4, 8);
  for (let i = 0; i < 4; i++) h[i]![i] = 1;
  return h;
})();

function densePredict(s: Dense, dt: number): Dense {
  const F = diag(new Array<number>(8).fill(1));
  for (let i = 0; i < 4; i++) F[i]![i + 4] = dt;
  const h = s.x[3]![0]!;
  const p = N.positionPerHeight * h;
  const v = N.velocityPerHeight * h;
  const Q = diag([p, p, N.aspect, p, v, v, N.aspectVelocity, v].map((q) => q * q * dt));
  return { x: mul(F, s.x), P: add(mul(mul(F, s.P), tr(F)), Q) };
}

function denseUpdate(s: Dense, z: number[]): Dense {
  const h = s.x[3]![0]!;
  const r = N.positionPerHeight * h;
  const R = diag([r, r, N.measurementAspect, r].map((q) => q * q));
  const S = add(mul(mul(H, s.P), tr(H)), R);
  const K = mul(mul(s.P, tr(H)), inv4(S));
  const y = sub(
    z.map((v) => [v]),
    mul(H, s.x),
  );
  return { x: add(s.x, mul(K, y)), P: mul(sub(diag(new Array<number>(8).fill(1)), mul(K, H)), s.P) };
}

function toDense(s: KalmanBoxState): Dense {
  const P = zeros(8, 8);
  for (let k = 0; k < 4; k++) {
    P[k]![k] = s.cov[3 * k]!;
    P[k]![k + 4] = s.cov[3 * k + 1]!;
    P[k + 4]![k] = s.cov[3 * k + 1]!;
    P[k + 4]![k + 4] = s.cov[3 * k + 2]!;
  }
  return { x: Array.from(s.mean, (v) => [v]), P };
}

function expectSame(fast: KalmanBoxState, dense: Dense): void {
  const f = toDense(fast);
  for (let i = 0; i < 8; i++) {
    expect(f.x[i]![0]!).toBeCloseTo(dense.x[i]![0]!, 6);
    for (let j = 0; j < 8; j++) {
      const scale = Math.max(1, Math.abs(dense.P[i]![j]!));
      expect(f.P[i]![j]! / scale).toBeCloseTo(dense.P[i]![j]! / scale, 9);
    }
  }
}

describe('kalman-box', () => {
  it('gives the same mean and covariance as the dense 8x8 filter', () => {
    const start = { x: 100, y: 50, w: 40, h: 120 };
    let fast = initiateKalmanBox(start);
    let dense = toDense(fast);
    // the initial covariance is the documented diagonal
    expect(fast.cov[0]).toBeCloseTo((2 * N.positionPerHeight * 120) ** 2, 12);
    expect(fast.cov[2]).toBeCloseTo((10 * N.velocityPerHeight * 120) ** 2, 12);
    for (let step = 1; step <= 20; step++) {
      const dt = step % 5 === 0 ? 2.5 : 1; // includes late frames
      fast = predictKalmanBox(fast, dt);
      dense = densePredict(dense, dt);
      expectSame(fast, dense);
      if (step % 7 === 3) continue; // a missed detection now and then
      const box = { x: 100 + 3 * step + (step % 3), y: 50 + step, w: 40 + (step % 2), h: 120 + step / 2 };
      fast = updateKalmanBox(fast, box);
      dense = denseUpdate(dense, boxToMeasurement(box));
      expectSame(fast, dense);
    }
  });

  it('learns a constant velocity and extrapolates it', () => {
    let s = initiateKalmanBox({ x: 0, y: 0, w: 50, h: 100 });
    for (let f = 1; f <= 30; f++) {
      s = predictKalmanBox(s, 1);
      s = updateKalmanBox(s, { x: 4 * f, y: -2 * f, w: 50, h: 100 });
    }
    expect(s.mean[4]).toBeCloseTo(4, 1);
    expect(s.mean[5]).toBeCloseTo(-2, 1);
    const ahead = kalmanBoxToBox(predictKalmanBox(s, 5));
    expect(ahead.x).toBeCloseTo(4 * 35, 0);
    expect(ahead.y).toBeCloseTo(-2 * 35, 0);
    expect(ahead.w).toBeCloseTo(50, 1);
    expect(ahead.h).toBeCloseTo(100, 1);
  });

  it('never mutates its input state', () => {
    const s = initiateKalmanBox({ x: 10, y: 10, w: 20, h: 40 });
    const mean = [...s.mean];
    const cov = [...s.cov];
    updateKalmanBox(predictKalmanBox(s, 1), { x: 12, y: 10, w: 20, h: 40 });
    updateKalmanBox(s, { x: 12, y: 10, w: 20, h: 40 });
    expect([...s.mean]).toEqual(mean);
    expect([...s.cov]).toEqual(cov);
  });

  it('round-trips a box and clamps a negative predicted size', () => {
    const box = { x: 10, y: 20, w: 30, h: 60 };
    const b = kalmanBoxToBox(initiateKalmanBox(box));
    expect(b.x).toBeCloseTo(10, 12);
    expect(b.y).toBeCloseTo(20, 12);
    expect(b.w).toBeCloseTo(30, 12);
    expect(b.h).toBeCloseTo(60, 12);
    const shrinking = { mean: Float64Array.of(0, 0, 0.5, 10, 0, 0, 0, -5), cov: new Float64Array(12) };
    const gone = kalmanBoxToBox(predictKalmanBox(shrinking, 3));
    expect(gone.h).toBe(0);
    expect(gone.w).toBe(0);
  });
});
