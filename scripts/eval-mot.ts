/**
 * Tracker-only evaluation on a MOTChallenge sequence (text files, no frames needed):
 *   node --import tsx scripts/eval-mot.ts --seq <dir> --json
 * runs the ByteTrack-style tracker on <dir>/det/det.txt, scores its confirmed tracks against
 * <dir>/gt/gt.txt (CLEAR-MOT + IDF1, IoU ≥ 0.5) and prints one JSON line.
 *   --tracker-output <file>   score an existing tracker result instead of running the tracker
 *   --out <file>              also write the tracker's output in MOTChallenge format
 *   --<configKey> <number>    override one tracker setting (e.g. --matchIou 0.3)
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import {
  createByteTracker,
  DEFAULT_BYTE_TRACKER_CONFIG,
  type ByteTrackerConfig,
} from '../edge-agent/src/tracking/byte-tracker.js';
import { evaluateClearMot } from '../edge-agent/src/tracking/mot/clear-mot.js';
import { evaluateIdf1 } from '../edge-agent/src/tracking/mot/idf1.js';
import {
  formatMotRows,
  parseDetections,
  parseGroundTruth,
  parseSeqInfo,
  parseTrackerOutput,
  rowsByFrame,
  type MotRow,
  type ParseResult,
} from '../edge-agent/src/tracking/mot/mot-format.js';

const configKeys = Object.keys(DEFAULT_BYTE_TRACKER_CONFIG) as (keyof ByteTrackerConfig)[];

function fail(message: string): never {
  process.stderr.write(`eval-mot: ${message}\n`);
  process.exit(2);
}

function unwrap<T>(r: ParseResult<T>): T {
  if (!r.ok) fail(r.error);
  return r.value;
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    return fail(`cannot read ${path}: ${(err as Error).message}`);
  }
}

const { values } = parseArgs({
  options: {
    seq: { type: 'string' },
    json: { type: 'boolean', default: false },
    'tracker-output': { type: 'string' },
    out: { type: 'string' },
    ...Object.fromEntries(configKeys.map((k) => [k, { type: 'string' as const }])),
  },
  strict: true,
});
if (!values.seq) fail('usage: eval-mot.ts --seq <sequence dir> [--json] [--tracker-output <file>] [--out <file>]');
const seqDir = resolve(values.seq);
const seqInfo = unwrap(parseSeqInfo(readText(join(seqDir, 'seqinfo.ini'))));
const gt = unwrap(parseGroundTruth(readText(join(seqDir, 'gt', 'gt.txt')), 'gt.txt'));

const overrides: Partial<ByteTrackerConfig> = {};
for (const k of configKeys) {
  const raw = (values as Record<string, unknown>)[k];
  if (typeof raw !== 'string') continue;
  const n = Number(raw);
  if (!Number.isFinite(n)) fail(`--${k} expects a number, got ${raw}`);
  overrides[k] = n;
}

let pred: MotRow[];
let tracker: { config: ByteTrackerConfig; fps: number; updates: number } | undefined;
if (values['tracker-output']) {
  pred = unwrap(parseTrackerOutput(readText(values['tracker-output']), values['tracker-output']));
} else {
  const detections = unwrap(parseDetections(readText(join(seqDir, 'det', 'det.txt'))));
  const byFrame = rowsByFrame(detections, seqInfo.seqLength);
  const frameMs = 1000 / seqInfo.frameRate;
  const t = createByteTracker(overrides);
  // MOT files want integer ids: number the anonymous ids in order of appearance, here only.
  const numericId = new Map<string, number>();
  pred = [];
  const start = performance.now();
  for (let frame = 1; frame < byFrame.length; frame++) {
    const dets = byFrame[frame]!.map((r) => ({ box: r.box, score: r.score }));
    const updates = t.update(dets, (frame - 1) * frameMs);
    // what an online tracker shows: confirmed tracks matched at this frame
    for (const u of updates) {
      if (u.status !== 'confirmed' || !u.detected) continue;
      let id = numericId.get(u.trackId);
      if (id === undefined) numericId.set(u.trackId, (id = numericId.size + 1));
      pred.push({ frame, id, box: u.box, score: u.score });
    }
  }
  const elapsedMs = performance.now() - start;
  tracker = { config: { ...t.config }, fps: (byFrame.length - 1) / (elapsedMs / 1000), updates: byFrame.length - 1 };
  if (values.out) writeFileSync(values.out, formatMotRows(pred));
}

const clear = evaluateClearMot(gt, pred);
const id = evaluateIdf1(gt, pred);
const pct = (v: number) => Math.round(v * 1000) / 10;
const result = {
  sequence: seqInfo.name,
  source: tracker ? 'byte-tracker' : values['tracker-output'],
  frames: clear.frames,
  gtBoxes: clear.numGt,
  trackerBoxes: clear.numPred,
  MOTA: pct(clear.mota),
  IDF1: pct(id.idf1),
  MOTP: pct(clear.motp),
  recall: pct(clear.recall),
  precision: pct(clear.precision),
  IDSW: clear.idsw,
  FP: clear.fp,
  FN: clear.fn,
  IDP: pct(id.idp),
  IDR: pct(id.idr),
  MT: clear.mostlyTracked,
  PT: clear.partiallyTracked,
  ML: clear.mostlyLost,
  gtIds: clear.gtIds,
  trackerIds: clear.predIds,
  ...(tracker ? { trackerFps: Math.round(tracker.fps), config: tracker.config } : {}),
};
if (values.json) {
  process.stdout.write(`${JSON.stringify(result)}\n`);
} else {
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}
