import { describe, expect, it } from 'vitest';
import type { Box } from '@portail/vision/types.js';
import { evaluateIdf1 } from './idf1.js';
import type { MotRow } from './mot-format.js';

const row = (frame: number, id: number, box: Box): MotRow => ({ frame, id, box, score: 1 });
const B = (x: number): Box => ({ x, y: 0, w: 10, h: 10 });

describe('evaluateIdf1', () => {
  it('gives each ground-truth id a single tracker id for the whole sequence', () => {
    // gt 1 is followed by tracker 10 for 3 frames, then by tracker 20 for 1 frame
    const gt = [1, 2, 3, 4].map((f) => row(f, 1, B(0)));
    const pred = [row(1, 10, B(0)), row(2, 10, B(0)), row(3, 10, B(0)), row(4, 20, B(0))];
    expect(evaluateIdf1(gt, pred)).toEqual({ idtp: 3, idfp: 1, idfn: 1, idf1: 6 / 8, idp: 3 / 4, idr: 3 / 4 });
  });

  it('picks the one-to-one pairing with the most shared frames, not the greedy one', () => {
    // shared frames: gt1-t10 3, gt1-t20 2, gt2-t10 2, gt2-t20 0. Greedy takes gt1-t10 (3 in
    // total); the best pairing is gt1-t20 + gt2-t10 (4).
    const gt: MotRow[] = [];
    const pred: MotRow[] = [];
    for (let f = 1; f <= 3; f++) {
      gt.push(row(f, 1, B(0)), row(f, 2, B(100)));
      pred.push(row(f, 10, B(0)));
    }
    for (let f = 4; f <= 5; f++) {
      gt.push(row(f, 1, B(0)));
      pred.push(row(f, 20, B(0)));
    }
    for (let f = 6; f <= 7; f++) {
      gt.push(row(f, 2, B(100)));
      pred.push(row(f, 10, B(100)));
    }
    expect(evaluateIdf1(gt, pred)).toMatchObject({ idtp: 4, idfn: 10 - 4, idfp: 7 - 4, idf1: 8 / 17 });
  });

  it('agrees with brute force over all pairings on random sequences', () => {
    let seed = 12345;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let trial = 0; trial < 50; trial++) {
      const nGt = 1 + Math.floor(rand() * 4);
      const nPred = 1 + Math.floor(rand() * 4);
      const gt: MotRow[] = [];
      const pred: MotRow[] = [];
      const co = Array.from({ length: nGt }, () => new Array<number>(nPred).fill(0));
      for (let f = 1; f <= 12; f++) {
        // each gt id sits in its own column; each tracker id lands on a random gt or nowhere
        for (let g = 0; g < nGt; g++) if (rand() < 0.8) gt.push(row(f, g + 1, B(100 * g)));
        const present = new Set(gt.filter((r) => r.frame === f).map((r) => r.id - 1));
        for (let t = 0; t < nPred; t++) {
          if (rand() < 0.2) continue;
          const g = Math.floor(rand() * (nGt + 1));
          pred.push(row(f, 50 + t, B(g < nGt ? 100 * g : 1000 + 20 * t)));
          if (g < nGt && present.has(g)) co[g]![t]!++;
        }
      }
      let best = 0;
      const used = new Array<boolean>(nPred).fill(false);
      const visit = (g: number, sum: number) => {
        if (g === nGt) return void (best = Math.max(best, sum));
        visit(g + 1, sum);
        for (let t = 0; t < nPred; t++) {
          if (used[t]) continue;
          used[t] = true;
          visit(g + 1, sum + co[g]![t]!);
          used[t] = false;
        }
      };
      visit(0, 0);
      const r = evaluateIdf1(gt, pred);
      expect(r.idtp).toBe(best);
      expect(r.idf1).toBeCloseTo((2 * best) / (gt.length + pred.length), 12);
    }
  });

  it('scores nothing when boxes never overlap enough', () => {
    const r = evaluateIdf1([row(1, 1, B(0))], [row(1, 2, B(6))]);
    expect(r).toMatchObject({ idtp: 0, idfp: 1, idfn: 1, idf1: 0 });
  });
});
