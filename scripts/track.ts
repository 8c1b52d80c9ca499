/**
 * Anonymous tracking on a video file, the way the agent runs it on a tracking camera:
 *   node --conditions=portail-src --import tsx scripts/track.ts --video <file>
 *     [--line [id=]x1,y1,x2,y2]... [--zone [id=]x,y;x,y;x,y...]... [--detector yolox|nanodet]
 *     [--max-frames N] [--threads 1] [--providers cpu] [--score-threshold 0.1] [--json]
 * The clip is decoded by ffmpeg as fast as it goes (video time drives the tracker, not wall time),
 * each frame goes through the person detector and the tracking pipeline (ByteTrack-style tracker,
 * then the lines and zones given here), and ONE line is printed: confirmed tracks (anonymous id,
 * first and last frame, frames seen), line counts, alerts, frames/s and the median ms per stage.
 * A line counts "in" when a person's foot point crosses it from its left to its right, walking
 * from (x1,y1) to (x2,y2) on the image. Nothing is written to disk. Bad arguments exit with 2.
 */
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import type { ExecutionProvider } from '@portail/vision/onnx-session.js';
import { RuleConfigError } from '../edge-agent/src/rules/types.js';
import { createTrackingPipeline, type TrackingRules } from '../edge-agent/src/tracking/tracking-pipeline.js';
import { createNanodetDetector } from '@portail/vision/person/nanodet-detector.js';
import { createYoloxDetector } from '@portail/vision/person/yolox-detector.js';
import type { Detector, PersonDetection, Point } from '@portail/vision/types.js';
import { probeClip } from './lib/clip-frames.js';
import { median, trackClip } from './lib/track-clip.js';

// onnxruntime-node 1.30 on Linux ships Microsoft's 1DS telemetry, on by default (onnxruntime PR
// #27379): it writes a session file and a log into the temp dir and queues usage events for upload.
// Portail does not phone home: opt out before the first session opens (the runtime latches it).
process.env.ORT_DISABLE_TELEMETRY = '1';

const USAGE =
  'usage: track.ts --video <file> [--line [id=]x1,y1,x2,y2]... [--zone [id=]x,y;x,y;x,y...]... ' +
  '[--detector yolox|nanodet] [--max-frames N] [--threads N] [--providers cpu[,...]] [--score-threshold S] [--json]';

function fail(message: string): never {
  process.stderr.write(`track: ${message}\n`);
  process.exit(2);
}

function parseCli() {
  try {
    return parseArgs({
      options: {
        video: { type: 'string' },
        line: { type: 'string', multiple: true, default: [] },
        zone: { type: 'string', multiple: true, default: [] },
        detector: { type: 'string', default: 'yolox' },
        'max-frames': { type: 'string' },
        threads: { type: 'string', default: '1' },
        providers: { type: 'string', default: 'cpu' },
        'score-threshold': { type: 'string', default: '0.1' },
        json: { type: 'boolean', default: false },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (err) {
    // parseArgs reports unknown or malformed options by throwing
    return fail(`${(err as Error).message}\n${USAGE}`);
  }
}

/** "id=rest" or "rest": the id defaults to `${kind}${n}`. */
function splitId(arg: string, fallback: string): [string, string] {
  const eq = arg.indexOf('=');
  return eq < 0 ? [fallback, arg] : [arg.slice(0, eq), arg.slice(eq + 1)];
}

function numbers(text: string): number[] | undefined {
  const parts = text.split(',').map((s) => s.trim());
  if (parts.some((p) => p === '')) return undefined;
  const ns = parts.map(Number);
  return ns.every(Number.isFinite) ? ns : undefined;
}

function parseLine(arg: string, n: number): NonNullable<TrackingRules['lines']>[number] {
  const [id, coords] = splitId(arg, `line${n}`);
  const ns = numbers(coords);
  if (!ns || ns.length !== 4) fail(`--line expects x1,y1,x2,y2 (4 numbers, pixels), got "${arg}"`);
  const [x1, y1, x2, y2] = ns as [number, number, number, number];
  if (x1 === x2 && y1 === y2) fail(`--line "${arg}": the two end points are the same`);
  return { id, from: [x1, y1], to: [x2, y2] };
}

function parseZone(arg: string, n: number): NonNullable<TrackingRules['zones']>[number] {
  const [id, coords] = splitId(arg, `zone${n}`);
  const points = coords.split(';').map((p) => numbers(p));
  if (points.length < 3 || points.some((p) => !p || p.length !== 2)) {
    fail(`--zone expects at least 3 points x,y;x,y;x,y (pixels), got "${arg}"`);
  }
  return { id, polygon: points.map((p) => [p![0]!, p![1]!] as Point) };
}

const values = parseCli();
if (!values.video) fail(`--video is required\n${USAGE}`);
const detectorKind = values.detector;
if (detectorKind !== 'yolox' && detectorKind !== 'nanodet')
  fail(`--detector must be yolox or nanodet, got "${detectorKind}"`);
const maxFrames = values['max-frames'] === undefined ? undefined : Number(values['max-frames']);
if (maxFrames !== undefined && !(Number.isInteger(maxFrames) && maxFrames > 0))
  fail('--max-frames takes a positive integer');
const intraOpThreads = Number(values.threads);
if (!(Number.isInteger(intraOpThreads) && intraOpThreads > 0)) fail('--threads takes a positive integer');
const scoreThreshold = Number(values['score-threshold']);
if (!(scoreThreshold >= 0 && scoreThreshold <= 1)) fail('--score-threshold takes a number in [0, 1]');
const providers = values.providers.split(',') as ExecutionProvider[];

const rules: TrackingRules = {
  lines: values.line.map((l, i) => parseLine(l, i + 1)),
  zones: values.zone.map((z, i) => parseZone(z, i + 1)),
};
let pipeline: ReturnType<typeof createTrackingPipeline>;
try {
  pipeline = createTrackingPipeline({ rules });
} catch (err) {
  if (err instanceof RuleConfigError) fail(`invalid --line/--zone: ${err.message}`);
  throw err;
}

const probed = probeClip(values.video);
if (!probed.ok) fail(probed.error.message);
const clip = probed.value;

const common = { providers, intraOpThreads, scoreThreshold };
const detector: Detector<PersonDetection> =
  detectorKind === 'yolox' ? await createYoloxDetector(common) : await createNanodetDetector(common);

const result = await trackClip({ clip, detector, pipeline, ...(maxFrames !== undefined ? { maxFrames } : {}) });
await detector.close();

const r2 = (x: number) => Math.round(x * 100) / 100;
const out = {
  video: basename(clip.path),
  width: clip.width,
  height: clip.height,
  fps: clip.fps,
  frames: result.frames,
  detector: { model: detector.modelName, provider: detector.provider, intraOpThreads, scoreThreshold },
  rules: { lines: rules.lines, zones: rules.zones },
  confirmedTracks: result.tracks.length,
  tracks: result.tracks,
  lineCounts: result.lineCounts,
  alerts: result.alerts.map(({ box: _box, ...a }) => a),
  framesPerSec: r2(result.frames / (result.wallMs / 1000)),
  medianMs: {
    decodeWait: r2(median(result.stageMs.decodeWait)),
    detect: r2(median(result.stageMs.detect)),
    trackRules: r2(median(result.stageMs.trackRules)),
  },
  wallMs: Math.round(result.wallMs),
};

if (values.json) {
  process.stdout.write(`${JSON.stringify(out)}\n`);
} else {
  const lines = [
    `${out.video}: ${out.frames} frames ${out.width}x${out.height} at ${out.framesPerSec} frames/s (${out.detector.model} on ${out.detector.provider})`,
    `median ms per frame: decode wait ${out.medianMs.decodeWait}, detect ${out.medianMs.detect}, track+rules ${out.medianMs.trackRules}`,
    `${out.confirmedTracks} confirmed tracks`,
    ...out.tracks.map((t) => `  ${t.trackId}  frames ${t.firstFrame}-${t.lastFrame}, seen in ${t.framesSeen}`),
    ...Object.entries(out.lineCounts).map(([id, c]) => `line ${id}: in ${c.in}, out ${c.out}`),
    ...out.alerts.map((a) =>
      `  frame ${a.frame}: ${a.kind} ${a.rule} ${a.trackId ?? ''} ${a.direction ?? ''}`.trimEnd(),
    ),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}
