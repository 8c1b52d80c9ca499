/**
 * Metrics and tracker on real MOTChallenge data (shared/data/mot-dev, TUD-Campus): the evaluator
 * must reproduce the devkit's figures for the reference CEM result, and the tracker must beat the
 * simple IoU tracker baseline of the data README.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createByteTracker } from '../byte-tracker.js';
import { evaluateClearMot } from './clear-mot.js';
import { evaluateIdf1 } from './idf1.js';
import {
  parseDetections,
  parseGroundTruth,
  parseSeqInfo,
  parseTrackerOutput,
  rowsByFrame,
  type MotRow,
} from './mot-format.js';

const repo = fileURLToPath(new URL('../../../../', import.meta.url));
const dataDir = process.env.PORTAIL_DATA_DIR ?? join(repo, '..', 'shared', 'data');
const seqDir = join(dataDir, 'mot-dev', 'TUD-Campus');

function read<T>(path: string, parse: (text: string) => { ok: true; value: T } | { ok: false; error: string }): T {
  const r = parse(readFileSync(path, 'utf8'));
  if (!r.ok) throw new Error(r.error);
  return r.value;
}

const gt = read(join(seqDir, 'gt', 'gt.txt'), (t) => parseGroundTruth(t));
const pct = (v: number) => Math.round(v * 1000) / 10;

describe('TUD-Campus', () => {
  it('reproduces the devkit figures of the reference CEM result exactly', () => {
    const cem = read(join(seqDir, 'reference', 'cem_tracker_result.txt'), (t) => parseTrackerOutput(t));
    const clear = evaluateClearMot(gt, cem);
    const id = evaluateIdf1(gt, cem);
    expect({
      MOTA: pct(clear.mota),
      MOTP: pct(clear.motp),
      IDF1: pct(id.idf1),
      FP: clear.fp,
      FN: clear.fn,
      IDSW: clear.idsw,
      recall: pct(clear.recall),
      precision: pct(clear.precision),
    }).toEqual({ MOTA: 52.6, MOTP: 72.3, IDF1: 55.8, FP: 13, FN: 150, IDSW: 7, recall: 58.2, precision: 94.1 });
  });

  it('gives the same figures through scripts/eval-mot.ts --tracker-output', () => {
    const out = execFileSync(
      process.execPath,
      [
        '--import',
        'tsx',
        join(repo, 'scripts', 'eval-mot.ts'),
        '--seq',
        seqDir,
        '--json',
        '--tracker-output',
        join(seqDir, 'reference', 'cem_tracker_result.txt'),
      ],
      { cwd: repo, encoding: 'utf8' },
    );
    const lines = out.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({
      MOTA: 52.6,
      MOTP: 72.3,
      IDF1: 55.8,
      FP: 13,
      FN: 150,
      IDSW: 7,
      recall: 58.2,
      precision: 94.1,
      frames: 71,
    });
  });

  it('tracks the shipped detections better than the simple IoU tracker baseline (MOTA 58.8, IDF1 57.3)', () => {
    const info = read(join(seqDir, 'seqinfo.ini'), parseSeqInfo);
    const dets = read(join(seqDir, 'det', 'det.txt'), (t) => parseDetections(t));
    const tracker = createByteTracker();
    const ids = new Map<string, number>();
    const pred: MotRow[] = [];
    rowsByFrame(dets, info.seqLength).forEach((rows, frame) => {
      if (frame === 0) return;
      const updates = tracker.update(
        rows.map((r) => ({ box: r.box, score: r.score })),
        ((frame - 1) * 1000) / info.frameRate,
      );
      for (const u of updates) {
        if (u.status !== 'confirmed' || !u.detected) continue;
        if (!ids.has(u.trackId)) ids.set(u.trackId, ids.size + 1);
        pred.push({ frame, id: ids.get(u.trackId)!, box: u.box, score: u.score });
      }
    });
    const clear = evaluateClearMot(gt, pred);
    const id = evaluateIdf1(gt, pred);
    expect(pct(clear.mota)).toBeGreaterThan(58.8);
    expect(pct(id.idf1)).toBeGreaterThan(57.3);
  });
});
