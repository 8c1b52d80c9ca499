/**
 * Tracker-only throughput on a MOTChallenge sequence's detections (no frames, no detector):
 *   node --import tsx scripts/bench-tracking.ts [--seq <dir>] [--runs 5] [--run-ms 600]
 * Each run replays the sequence through a fresh tracker until it has run --run-ms; the line
 * printed holds the median updates/s (one update = one frame's detections) over the runs.
 */
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createByteTracker } from '../edge-agent/src/tracking/byte-tracker.js';
import type { TrackerDetection } from '../edge-agent/src/tracking/types.js';
import { parseDetections, parseSeqInfo, rowsByFrame } from '../edge-agent/src/tracking/mot/mot-format.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dataDir = process.env.PORTAIL_DATA_DIR ?? join(repo, '..', 'shared', 'data');
const { values } = parseArgs({
  options: {
    seq: { type: 'string', default: join(dataDir, 'mot-dev', 'TUD-Campus') },
    runs: { type: 'string', default: '5' },
    'run-ms': { type: 'string', default: '600' },
  },
});
const runs = Number(values.runs);
const runMs = Number(values['run-ms']);
if (!(Number.isInteger(runs) && runs > 0 && runMs > 0)) throw new Error('--runs and --run-ms must be positive');

const info = parseSeqInfo(readFileSync(join(values.seq, 'seqinfo.ini'), 'utf8'));
const dets = parseDetections(readFileSync(join(values.seq, 'det', 'det.txt'), 'utf8'));
if (!info.ok || !dets.ok) throw new Error(!info.ok ? info.error : !dets.ok ? dets.error : '');
const frames: TrackerDetection[][] = rowsByFrame(dets.value, info.value.seqLength)
  .slice(1)
  .map((rows) => rows.map((r) => ({ box: r.box, score: r.score })));
const frameMs = 1000 / info.value.frameRate;
const detectionsPerPass = frames.reduce((n, f) => n + f.length, 0);

function pass(): void {
  const tracker = createByteTracker();
  for (let i = 0; i < frames.length; i++) tracker.update(frames[i]!, i * frameMs);
}

function run(ms: number): number {
  let passes = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < ms) {
    pass();
    passes++;
    elapsed = performance.now() - start;
  }
  return (passes * frames.length) / (elapsed / 1000);
}

run(200); // warm-up: let the JIT compile the hot paths
const rates = Array.from({ length: runs }, () => run(runMs)).sort((a, b) => a - b);
const median = rates[Math.floor(rates.length / 2)]!;
process.stdout.write(
  `${JSON.stringify({
    bench: 'tracking',
    sequence: info.value.name,
    framesPerPass: frames.length,
    detectionsPerPass,
    runs,
    runMs,
    updatesPerSec: Math.round(median),
    minUpdatesPerSec: Math.round(rates[0]!),
    maxUpdatesPerSec: Math.round(rates[rates.length - 1]!),
    detectionsPerSec: Math.round((median * detectionsPerPass) / frames.length),
    usPerUpdate: Math.round((1e6 / median) * 10) / 10,
    node: process.version,
    cpu: cpus()[0]?.model ?? 'unknown',
  })}\n`,
);
