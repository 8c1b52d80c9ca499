/**
 * Tracking throughput, printed as ONE JSON line:
 *   node --conditions=portail-src --import tsx scripts/bench-tracking.ts [--json]
 *     [--seq <dir>] [--runs 5] [--run-ms 600]
 *     [--video <file>] [--frames 300] [--detector yolox|nanodet] [--threads 1] [--providers cpu]
 * 1. Tracker only, on a MOTChallenge sequence's detections (no frames, no detector): each run
 *    replays the sequence through a fresh tracker until it has run --run-ms; the top-level fields
 *    hold the median updates/s (one update = one frame's detections) over the runs.
 * 2. `detectorTracker`: the first --frames frames of a real clip at its native size, decoded by
 *    ffmpeg, through the person detector and the tracking pipeline (tracker + an entry line), as
 *    scripts/track.ts runs them: frames/s and the median (and p95) ms per stage. --frames 0 skips it.
 * The machine is shared and noisy: compare medians, and re-run before believing a difference.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createByteTracker } from '../edge-agent/src/tracking/byte-tracker.js';
import type { TrackerDetection } from '../edge-agent/src/tracking/types.js';
import { parseDetections, parseSeqInfo, rowsByFrame } from '../edge-agent/src/tracking/mot/mot-format.js';
import { createTrackingPipeline } from '../edge-agent/src/tracking/tracking-pipeline.js';
import type { ExecutionProvider } from '@portail/vision/onnx-session.js';
import { createNanodetDetector } from '@portail/vision/person/nanodet-detector.js';
import { createYoloxDetector } from '@portail/vision/person/yolox-detector.js';
import type { Detector, PersonDetection } from '@portail/vision/types.js';
import { probeClip } from './lib/clip-frames.js';
import { median, quantile, trackClip } from './lib/track-clip.js';

// onnxruntime-node 1.30 on Linux ships Microsoft's 1DS telemetry, on by default (onnxruntime PR
// #27379): it writes a session file and a log into the temp dir and queues usage events for upload.
// Portail does not phone home: opt out before the first session opens (the runtime latches it).
process.env.ORT_DISABLE_TELEMETRY = '1';

function fail(message: string): never {
  process.stderr.write(`bench-tracking: ${message}\n`);
  process.exit(2);
}

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dataDir = process.env.PORTAIL_DATA_DIR ?? join(repo, '..', 'shared', 'data');
const { values } = parseArgs({
  options: {
    seq: { type: 'string', default: join(dataDir, 'mot-dev', 'TUD-Campus') },
    runs: { type: 'string', default: '5' },
    'run-ms': { type: 'string', default: '600' },
    video: { type: 'string', default: join(dataDir, 'clips', 'intel-one-by-one-person-detection.mp4') },
    frames: { type: 'string', default: '300' },
    detector: { type: 'string', default: 'yolox' },
    threads: { type: 'string', default: '1' },
    providers: { type: 'string', default: 'cpu' },
    // the output is always one JSON line; the flag is accepted like the other scripts'
    json: { type: 'boolean', default: false },
  },
  strict: true,
});
const runs = Number(values.runs);
const runMs = Number(values['run-ms']);
if (!(Number.isInteger(runs) && runs > 0 && runMs > 0)) fail('--runs and --run-ms must be positive');
const clipFrames = Number(values.frames);
if (!(Number.isInteger(clipFrames) && clipFrames >= 0)) fail('--frames takes an integer ≥ 0');
const intraOpThreads = Number(values.threads);
if (!(Number.isInteger(intraOpThreads) && intraOpThreads > 0)) fail('--threads takes a positive integer');
if (values.detector !== 'yolox' && values.detector !== 'nanodet') fail('--detector must be yolox or nanodet');
const providers = values.providers.split(',') as ExecutionProvider[];

const info = parseSeqInfo(readFileSync(join(values.seq, 'seqinfo.ini'), 'utf8'));
const dets = parseDetections(readFileSync(join(values.seq, 'det', 'det.txt'), 'utf8'));
if (!info.ok || !dets.ok) fail(!info.ok ? info.error : !dets.ok ? dets.error : '');
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
const medianRate = rates[Math.floor(rates.length / 2)]!;

const r2 = (x: number) => Math.round(x * 100) / 100;
const stat = (xs: number[]) => ({ median: r2(median(xs)), p95: r2(quantile(xs, 0.95)) });

/** Detector + tracking pipeline on the first frames of a real clip, as scripts/track.ts runs them. */
async function benchDetectorTracker() {
  const probed = probeClip(values.video);
  if (!probed.ok) fail(probed.error.message);
  const clip = probed.value;
  // a tracker's low-score pass wants weak boxes too (ByteTrack), as in scripts/track.ts
  const scoreThreshold = 0.1;
  const common = { providers, intraOpThreads, scoreThreshold };
  const detector: Detector<PersonDetection> =
    values.detector === 'yolox' ? await createYoloxDetector(common) : await createNanodetDetector(common);
  // warm-up on a blank frame of the clip's size: the first runs of a session allocate and plan
  const blank = {
    cameraId: 'warmup',
    seq: 0,
    tsMs: 0,
    width: clip.width,
    height: clip.height,
    data: new Uint8Array(clip.width * clip.height * 3),
  };
  for (let i = 0; i < 5; i++) await detector.detect(blank);
  // an entry line across the bottom of the room (see scripts/track.ts), so the rules run too
  const pipeline = createTrackingPipeline({ rules: { lines: [{ id: 'entry', from: [480, 410], to: [150, 410] }] } });
  const load = loadavg()[0]!;
  const result = await trackClip({ clip, detector, pipeline, maxFrames: clipFrames });
  const loadEnd = loadavg()[0]!;
  await detector.close();
  const total = result.stageMs.detect.map((d, i) => d + result.stageMs.decodeWait[i]! + result.stageMs.trackRules[i]!);
  return {
    video: basename(clip.path),
    width: clip.width,
    height: clip.height,
    frames: result.frames,
    framesPerSec: r2(result.frames / (result.wallMs / 1000)),
    medianFramesPerSec: r2(1000 / median(total)),
    ms: {
      decodeWait: stat(result.stageMs.decodeWait),
      detect: stat(result.stageMs.detect),
      trackRules: stat(result.stageMs.trackRules),
      total: stat(total),
    },
    detector: {
      model: detector.modelName,
      sha256: detector.sha256,
      provider: detector.provider,
      requestedProviders: providers,
      intraOpThreads,
      interOpThreads: 1,
      scoreThreshold,
    },
    detectionsPerFrame: r2(result.detections.reduce((a, b) => a + b, 0) / Math.max(1, result.frames)),
    confirmedTracks: result.tracks.length,
    lineCounts: result.lineCounts,
    loadAvg1m: { start: r2(load), end: r2(loadEnd) },
  };
}

const detectorTracker = clipFrames > 0 ? await benchDetectorTracker() : undefined;

process.stdout.write(
  `${JSON.stringify({
    bench: 'tracking',
    sequence: info.value.name,
    framesPerPass: frames.length,
    detectionsPerPass,
    runs,
    runMs,
    updatesPerSec: Math.round(medianRate),
    minUpdatesPerSec: Math.round(rates[0]!),
    maxUpdatesPerSec: Math.round(rates[rates.length - 1]!),
    detectionsPerSec: Math.round((medianRate * detectionsPerPass) / frames.length),
    usPerUpdate: Math.round((1e6 / medianRate) * 10) / 10,
    ...(detectorTracker ? { detectorTracker } : {}),
    node: process.version,
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
  })}\n`,
);
