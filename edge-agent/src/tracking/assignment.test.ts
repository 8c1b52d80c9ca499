import { describe, expect, it } from 'vitest';
import { AssignmentError, assignWithGate, solveAssignment } from './assignment.js';

/** Deterministic PRNG (mulberry32) so a failure can be replayed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Exhaustive search over partial one-to-one matchings: best = most allowed pairs, then lowest cost
 * (forbidden pairs are never used).
 */
function bruteForce(rows: number, cols: number, cost: number[], allowed: (c: number) => boolean) {
  let best = { pairs: -1, total: Infinity };
  const usedCol = new Array<boolean>(cols).fill(false);
  const visit = (r: number, pairs: number, total: number) => {
    if (r === rows) {
      if (pairs > best.pairs || (pairs === best.pairs && total < best.total - 1e-12)) best = { pairs, total };
      return;
    }
    visit(r + 1, pairs, total); // row r unmatched
    for (let c = 0; c < cols; c++) {
      const v = cost[r * cols + c]!;
      if (usedCol[c] || !allowed(v)) continue;
      usedCol[c] = true;
      visit(r + 1, pairs + 1, total + v);
      usedCol[c] = false;
    }
  };
  visit(0, 0, 0);
  return best;
}

function summarise(rows: number, cols: number, cost: number[], rowToCol: Int32Array, colToRow: Int32Array) {
  let pairs = 0;
  let total = 0;
  const seen = new Set<number>();
  for (let r = 0; r < rows; r++) {
    const c = rowToCol[r]!;
    if (c < 0) continue;
    expect(seen.has(c)).toBe(false);
    seen.add(c);
    expect(colToRow[c]).toBe(r);
    pairs++;
    total += cost[r * cols + c]!;
  }
  return { pairs, total };
}

describe('solveAssignment', () => {
  it('matches brute force on random square and rectangular matrices', () => {
    const rand = rng(42);
    for (let trial = 0; trial < 400; trial++) {
      const rows = 1 + Math.floor(rand() * 6);
      const cols = 1 + Math.floor(rand() * 6);
      // integer costs create ties, real costs a unique optimum: test both
      const cost = Array.from({ length: rows * cols }, () => (trial % 2 ? Math.floor(rand() * 5) : rand() * 10 - 3));
      const { rowToCol, colToRow } = solveAssignment({ rows, cols, cost });
      const got = summarise(rows, cols, cost, rowToCol, colToRow);
      const want = bruteForce(rows, cols, cost, () => true);
      expect(got.pairs).toBe(Math.min(rows, cols));
      expect(got.total).toBeCloseTo(want.total, 9);
    }
  });

  it('solves a known 3x3 case', () => {
    const cost = [4, 1, 3, 2, 0, 5, 3, 2, 2];
    expect([...solveAssignment({ rows: 3, cols: 3, cost }).rowToCol]).toEqual([1, 0, 2]);
  });

  it('handles empty matrices and rejects bad input', () => {
    expect([...solveAssignment({ rows: 0, cols: 3, cost: [] }).colToRow]).toEqual([-1, -1, -1]);
    expect([...solveAssignment({ rows: 2, cols: 0, cost: [] }).rowToCol]).toEqual([-1, -1]);
    expect(() => solveAssignment({ rows: 2, cols: 2, cost: [1, 2, 3] })).toThrow(AssignmentError);
    expect(() => solveAssignment({ rows: 1, cols: 2, cost: [1, NaN] })).toThrow(/not finite/);
  });
});

describe('assignWithGate', () => {
  it('maximises allowed pairs, then minimises cost, like brute force', () => {
    const rand = rng(7);
    for (let trial = 0; trial < 400; trial++) {
      const rows = 1 + Math.floor(rand() * 6);
      const cols = 1 + Math.floor(rand() * 6);
      const cost = Array.from({ length: rows * cols }, () => (rand() < 0.15 ? NaN : rand()));
      const maxCost = 0.6;
      const allowed = (c: number) => Number.isFinite(c) && c <= maxCost;
      const { rowToCol, colToRow } = assignWithGate({ rows, cols, cost }, maxCost);
      const got = summarise(rows, cols, cost, rowToCol, colToRow);
      for (let r = 0; r < rows; r++) if (rowToCol[r]! >= 0) expect(allowed(cost[r * cols + rowToCol[r]!]!)).toBe(true);
      const want = bruteForce(rows, cols, cost, allowed);
      expect(got.pairs).toBe(want.pairs);
      expect(got.total).toBeCloseTo(want.total, 9);
    }
  });

  it('prefers two matches over one cheaper match', () => {
    // rows: tracks, cols: detections. Row 0 fits col 0 best, but only col 0 is allowed for row 1.
    const cost = [0.1, 0.5, 0.4, 0.9];
    const { rowToCol } = assignWithGate({ rows: 2, cols: 2, cost }, 0.5);
    expect([...rowToCol]).toEqual([1, 0]);
  });

  it('leaves everything unassigned when nothing is allowed', () => {
    const { rowToCol, colToRow } = assignWithGate({ rows: 2, cols: 3, cost: [1, 1, 1, 1, 1, 1] }, 0.5);
    expect([...rowToCol]).toEqual([-1, -1]);
    expect([...colToRow]).toEqual([-1, -1, -1]);
  });
});
