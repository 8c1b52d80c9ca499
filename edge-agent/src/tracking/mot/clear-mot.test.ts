import { describe, expect, it } from 'vitest';
import type { Box } from '@portail/vision/types.js';
import { evaluateClearMot } from './clear-mot.js';
import type { MotRow } from './mot-format.js';

const row = (frame: number, id: number, box: Box): MotRow => ({ frame, id, box, score: 1 });
const B = (x: number, y = 0, w = 10, h = 10): Box => ({ x, y, w, h });

describe('evaluateClearMot', () => {
  it('scores a perfect tracker with its own ids', () => {
    const gt = [row(1, 1, B(0)), row(1, 2, B(50)), row(2, 1, B(1)), row(2, 2, B(51))];
    const pred = gt.map((r) => ({ ...r, id: r.id + 100 }));
    expect(evaluateClearMot(gt, pred)).toMatchObject({
      tp: 4,
      fp: 0,
      fn: 0,
      idsw: 0,
      mota: 1,
      motp: 1,
      recall: 1,
      precision: 1,
    });
  });

  it('matches at IoU 0.5 exactly but not below', () => {
    const gt = [row(1, 1, B(0)), row(2, 1, B(0))];
    const pred = [row(1, 9, B(0, 0, 10, 5)), row(2, 9, B(0, 0, 10, 4.9))];
    expect(evaluateClearMot(gt, pred)).toMatchObject({ tp: 1, fp: 1, fn: 1, motp: 0.5 });
  });

  it('counts an identity switch, also across a gap', () => {
    const gt = [row(1, 1, B(0)), row(2, 1, B(0)), row(4, 1, B(0)), row(5, 1, B(0))];
    const pred = [row(1, 10, B(0)), row(2, 10, B(0)), row(3, 10, B(200)), row(4, 20, B(0)), row(5, 20, B(0))];
    const r = evaluateClearMot(gt, pred);
    expect(r).toMatchObject({ tp: 4, fp: 1, fn: 0, idsw: 1, frames: 5 });
    expect(r.mota).toBeCloseTo(1 - 2 / 4, 12);
  });

  it("keeps last frame's pair while it stays valid, even when another box fits better", () => {
    // frame 1: tracker 10 is exact, 20 is close; frame 2: 20 becomes exact, 10 drifts to IoU 0.6
    const gt = [row(1, 1, B(0)), row(2, 1, B(0))];
    const pred = [row(1, 10, B(0)), row(1, 20, B(2)), row(2, 10, B(2.5)), row(2, 20, B(0))];
    const r = evaluateClearMot(gt, pred);
    expect(r).toMatchObject({ tp: 2, fp: 2, idsw: 0 });
    // the kept pair's IoU counts in MOTP, not the better one
    expect(r.motp).toBeCloseTo((1 + 75 / 125) / 2, 12);
  });

  it('re-assigns optimally once the previous pair breaks', () => {
    const gt = [row(1, 1, B(0)), row(2, 1, B(0))];
    const pred = [row(1, 10, B(0)), row(2, 10, B(6)), row(2, 20, B(1))];
    expect(evaluateClearMot(gt, pred)).toMatchObject({ tp: 2, fp: 1, idsw: 1 });
  });

  it('maximises the number of matches before the IoU sum', () => {
    // IoU gt1-t10 0.82, gt1-t20 0.54, gt2-t10 0.54, gt2-t20 0.18 (too low): taking the best pair
    // gt1-t10 would leave gt2 unmatched; two matches win
    const gt = [row(1, 1, B(0)), row(1, 2, B(4))];
    const pred = [row(1, 10, B(1)), row(1, 20, B(-3))];
    expect(evaluateClearMot(gt, pred)).toMatchObject({ tp: 2, fp: 0, fn: 0 });
  });

  it('classifies ground-truth ids as mostly tracked, partially tracked or mostly lost', () => {
    const gt: MotRow[] = [];
    const pred: MotRow[] = [];
    for (let f = 1; f <= 10; f++) {
      gt.push(row(f, 1, B(0)), row(f, 2, B(100)), row(f, 3, B(200)));
      pred.push(row(f, 11, B(0)));
      if (f <= 5) pred.push(row(f, 12, B(100)));
      if (f <= 1) pred.push(row(f, 13, B(200)));
    }
    expect(evaluateClearMot(gt, pred)).toMatchObject({
      mostlyTracked: 1,
      partiallyTracked: 1,
      mostlyLost: 1,
      gtIds: 3,
      predIds: 3,
    });
  });

  it('handles empty inputs', () => {
    expect(evaluateClearMot([], [])).toMatchObject({ frames: 0, mota: 0, motp: 0 });
    expect(evaluateClearMot([row(1, 1, B(0))], [])).toMatchObject({ fn: 1, mota: 0, recall: 0 });
  });
});
