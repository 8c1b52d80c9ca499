/**
 * CLEAR-MOT metrics (Bernardin and Stiefelhagen, 2008) with the matching rules of the
 * MOTChallenge devkit and py-motmetrics:
 *  - a ground-truth box and a tracker box may be matched only when IoU ≥ the threshold (0.5);
 *  - per frame, a pair matched in the previous frame is kept while it stays within the threshold;
 *  - the remaining boxes are matched by a min-cost assignment on 1 - IoU that first maximises the
 *    number of pairs;
 *  - an identity switch is a match whose tracker id differs from the last one matched to that
 *    ground-truth id, however long ago;
 *  - MOTA = 1 - (FN + FP + IDSW) / GT boxes, MOTP = mean IoU of the matches (the devkit's form;
 *    py-motmetrics reports 1 - this).
 */
import { assignWithGate } from '../assignment.js';
import { iou } from '../iou.js';
import type { MotRow } from './mot-format.js';

export interface ClearMotOptions {
  /** minimum IoU for a ground-truth / tracker pair to count as a match */
  iouThreshold?: number;
}

export interface ClearMotResult {
  /** frames that hold a ground-truth or a tracker box */
  frames: number;
  numGt: number;
  numPred: number;
  /** matched pairs, identity switches included */
  tp: number;
  fp: number;
  fn: number;
  idsw: number;
  mota: number;
  motp: number;
  recall: number;
  precision: number;
  gtIds: number;
  predIds: number;
  /** ground-truth ids matched in ≥ 80 % of their frames */
  mostlyTracked: number;
  /** ground-truth ids matched in 20-80 % of their frames */
  partiallyTracked: number;
  /** ground-truth ids matched in ≤ 20 % of their frames */
  mostlyLost: number;
}

/** Groups rows by frame number, frames in increasing order. */
export function groupByFrame(rows: readonly MotRow[]): Map<number, MotRow[]> {
  const byFrame = new Map<number, MotRow[]>();
  for (const r of rows) {
    let list = byFrame.get(r.frame);
    if (!list) byFrame.set(r.frame, (list = []));
    list.push(r);
  }
  return byFrame;
}

export function sortedFrames(...groups: Map<number, unknown>[]): number[] {
  const frames = new Set<number>();
  for (const g of groups) for (const f of g.keys()) frames.add(f);
  return [...frames].sort((a, b) => a - b);
}

export function evaluateClearMot(
  gt: readonly MotRow[],
  pred: readonly MotRow[],
  options: ClearMotOptions = {},
): ClearMotResult {
  const threshold = options.iouThreshold ?? 0.5;
  // The matching limit is applied to the distance 1 - IoU, exactly as the reference tools do.
  const maxDistance = 1 - threshold;
  const gtByFrame = groupByFrame(gt);
  const predByFrame = groupByFrame(pred);
  const frames = sortedFrames(gtByFrame, predByFrame);

  const lastMatch = new Map<number, number>(); // gt id -> tracker id of its latest match
  let previousFrameMatches = new Map<number, number>();
  const gtFrames = new Map<number, number>();
  const gtMatchedFrames = new Map<number, number>();
  let tp = 0;
  let fp = 0;
  let fn = 0;
  let idsw = 0;
  let iouSum = 0;

  for (const frame of frames) {
    const objs = gtByFrame.get(frame) ?? [];
    const hyps = predByFrame.get(frame) ?? [];
    const dist = new Float64Array(objs.length * hyps.length);
    for (let i = 0; i < objs.length; i++) {
      for (let j = 0; j < hyps.length; j++) dist[i * hyps.length + j] = 1 - iou(objs[i]!.box, hyps[j]!.box);
    }
    const objMatched = new Int32Array(objs.length).fill(-1);
    const hypUsed = new Uint8Array(hyps.length);
    const frameMatches = new Map<number, number>();
    const record = (i: number, j: number) => {
      const o = objs[i]!.id;
      const h = hyps[j]!.id;
      const before = lastMatch.get(o);
      if (before !== undefined && before !== h) idsw++;
      lastMatch.set(o, h);
      frameMatches.set(o, h);
      objMatched[i] = j;
      hypUsed[j] = 1;
      tp++;
      iouSum += 1 - dist[i * hyps.length + j]!;
      gtMatchedFrames.set(o, (gtMatchedFrames.get(o) ?? 0) + 1);
    };

    // 1. keep last frame's pairs that are still close enough
    for (let i = 0; i < objs.length; i++) {
      const h = previousFrameMatches.get(objs[i]!.id);
      if (h === undefined) continue;
      const j = hyps.findIndex((r, k) => !hypUsed[k] && r.id === h);
      if (j >= 0 && dist[i * hyps.length + j]! <= maxDistance) record(i, j);
    }

    // 2. optimal assignment of the rest
    const freeObjs = [...objs.keys()].filter((i) => objMatched[i]! < 0);
    const freeHyps = [...hyps.keys()].filter((j) => !hypUsed[j]);
    if (freeObjs.length > 0 && freeHyps.length > 0) {
      const cost = new Float64Array(freeObjs.length * freeHyps.length);
      freeObjs.forEach((i, r) =>
        freeHyps.forEach((j, c) => (cost[r * freeHyps.length + c] = dist[i * hyps.length + j]!)),
      );
      const { rowToCol } = assignWithGate({ rows: freeObjs.length, cols: freeHyps.length, cost }, maxDistance);
      freeObjs.forEach((i, r) => {
        const c = rowToCol[r]!;
        if (c >= 0) record(i, freeHyps[c]!);
      });
    }

    for (let i = 0; i < objs.length; i++) {
      gtFrames.set(objs[i]!.id, (gtFrames.get(objs[i]!.id) ?? 0) + 1);
      if (objMatched[i]! < 0) fn++;
    }
    for (let j = 0; j < hyps.length; j++) if (!hypUsed[j]) fp++;
    previousFrameMatches = frameMatches;
  }

  let mostlyTracked = 0;
  let mostlyLost = 0;
  for (const [id, count] of gtFrames) {
    const ratio = (gtMatchedFrames.get(id) ?? 0) / count;
    if (ratio >= 0.8) mostlyTracked++;
    else if (ratio <= 0.2) mostlyLost++;
  }
  const numGt = gt.length;
  const numPred = pred.length;
  return {
    frames: frames.length,
    numGt,
    numPred,
    tp,
    fp,
    fn,
    idsw,
    mota: numGt > 0 ? 1 - (fn + fp + idsw) / numGt : 0,
    motp: tp > 0 ? iouSum / tp : 0,
    recall: numGt > 0 ? tp / numGt : 0,
    precision: tp + fp > 0 ? tp / (tp + fp) : 0,
    gtIds: gtFrames.size,
    predIds: new Set(pred.map((r) => r.id)).size,
    mostlyTracked,
    partiallyTracked: gtFrames.size - mostlyTracked - mostlyLost,
    mostlyLost,
  };
}
