/**
 * Identity metrics (Ristani et al., "Performance Measures and a Data Set for Multi-Target,
 * Multi-Camera Tracking", ECCV 2016 workshops), as in the MOTChallenge devkit and py-motmetrics.
 *
 * Each ground-truth id is matched to at most one tracker id for the whole sequence. A pair (g, t)
 * scores the number of frames in which both are present with IoU ≥ the threshold; the one-to-one
 * matching with the largest total is IDTP. Everything else is an error: IDFN = GT boxes - IDTP,
 * IDFP = tracker boxes - IDTP, IDF1 = 2·IDTP / (GT boxes + tracker boxes).
 *
 * py-motmetrics builds a square (G+T)×(G+T) matrix of FP+FN costs with dummy rows and columns for
 * unmatched ids; its total cost is (GT boxes + tracker boxes) - 2·Σ matched scores, so minimising
 * it is the same as maximising the matched scores, which is what is solved here directly.
 */
import { solveAssignment } from '../assignment.js';
import { iou } from '../iou.js';
import { groupByFrame } from './clear-mot.js';
import type { MotRow } from './mot-format.js';

export interface Idf1Result {
  idtp: number;
  idfp: number;
  idfn: number;
  idf1: number;
  /** IDTP / (IDTP + IDFP) */
  idp: number;
  /** IDTP / (IDTP + IDFN) */
  idr: number;
}

export function evaluateIdf1(
  gt: readonly MotRow[],
  pred: readonly MotRow[],
  options: { iouThreshold?: number } = {},
): Idf1Result {
  const maxDistance = 1 - (options.iouThreshold ?? 0.5);
  const gtIds = [...new Set(gt.map((r) => r.id))];
  const predIds = [...new Set(pred.map((r) => r.id))];
  const gtIndex = new Map(gtIds.map((id, i) => [id, i]));
  const predIndex = new Map(predIds.map((id, i) => [id, i]));

  // co[g * T + t]: frames where g and t overlap enough
  const co = new Float64Array(gtIds.length * predIds.length);
  const predByFrame = groupByFrame(pred);
  for (const [frame, objs] of groupByFrame(gt)) {
    const hyps = predByFrame.get(frame);
    if (!hyps) continue;
    for (const o of objs) {
      for (const h of hyps) {
        if (1 - iou(o.box, h.box) <= maxDistance) co[gtIndex.get(o.id)! * predIds.length + predIndex.get(h.id)!]! += 1;
      }
    }
  }

  let idtp = 0;
  if (gtIds.length > 0 && predIds.length > 0) {
    // Maximum-weight matching as a min-cost assignment on negated scores; a pair with no overlap
    // scores 0, the same as leaving both ids unmatched.
    const cost = co.map((c) => -c);
    const { rowToCol } = solveAssignment({ rows: gtIds.length, cols: predIds.length, cost });
    rowToCol.forEach((t, g) => {
      if (t >= 0) idtp += co[g * predIds.length + t]!;
    });
  }
  const idfn = gt.length - idtp;
  const idfp = pred.length - idtp;
  const denom = gt.length + pred.length;
  return {
    idtp,
    idfp,
    idfn,
    idf1: denom > 0 ? (2 * idtp) / denom : 0,
    idp: pred.length > 0 ? idtp / pred.length : 0,
    idr: gt.length > 0 ? idtp / gt.length : 0,
  };
}
