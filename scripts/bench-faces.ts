/**
 * Compute time of one gate passage on real frames:
 *   node --import tsx scripts/bench-faces.ts [--passages 300] [--threads 1] [--providers cpu] [--embedder <id>] --json
 * A passage is one frame through detect (YuNet) → align → quality → liveness (2 models) → embed →
 * compare with an enrolled template. Frames are the real face clips in shared/data/clips (decoded
 * by ffmpeg into memory) and the liveness sample photos; frames without a face are skipped.
 *
 * Each passage is paired with a plain `session.run` of the same four models, on separate sessions
 * opened with the same options, in the same process, so the overhead ratio (pipeline / pure
 * inference) sees the same machine load. For that ratio to measure only the pipeline's own work:
 * - the plain runs get the very tensors the pipeline feeds its models (built with the pipeline's
 *   exported preprocessing functions, outside the timed region), not noise: MiniFASNet's run time
 *   depends on its input (~5.0 ms on a flat image, ~6.5 on noise, ~6.9 on a face crop here, with
 *   denormals already flushed), so noise inputs made the baseline too cheap for liveness and too
 *   dear for the embedder;
 * - the order alternates (pipeline first on even passages, plain runs first on odd ones), so drift
 *   in the machine's load and cache state does not favour either side.
 * Prints ONE JSON line. Nothing is written to disk; every face crop and tensor is zeroed at the end.
 */
import { readdirSync } from 'node:fs';
import { register } from 'node:module';
import { cpus, loadavg } from 'node:os';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

// see scripts/eval-faces.ts: lets a plain `node --import tsx` run resolve the workspaces' sources
register(
  'data:text/javascript,export async function resolve(s,c,n){return n(s,{...c,conditions:[...c.conditions,"portail-src"]})}',
);

const { resolveModel } = await import('../models/src/index.js');
const { probeClip, readClipFrames } = await import('./lib/clip-frames.js');
const { openOnnxSession, ort } = await import('@portail/vision/onnx-session.js');
const { loadImageAsFrame } = await import('@portail/vision/image-frame.js');
const { createPreprocessor, planPadToMultiple } = await import('@portail/vision/preprocess.js');
const { createYunetDetector, YUNET_MODEL } = await import('@portail/vision/face/yunet-detector.js');
const { YUNET_STRIDES } = await import('@portail/vision/face/yunet-decode.js');
const { createFacePipeline } = await import('@portail/vision/face/face-pipeline.js');
const { alignFace, ALIGNED_FACE_SIZE_PX } = await import('@portail/vision/face/align.js');
const { DEFAULT_EMBEDDER, EMBEDDER_SPECS, embedderInput, isEmbedderModelId } =
  await import('@portail/vision/face/embed.js');
const { compareTemplates } = await import('@portail/vision/face/embed-template.js');
const { LIVENESS_MODELS, LIVENESS_INPUT_PX, livenessCropRect, livenessInput } =
  await import('@portail/vision/face/liveness.js');
const { median, quantile } = await import('@portail/vision/face/eval/pair-scoring.js');
type Frame = import('@portail/vision/types.js').Frame;
type FaceDetection = import('@portail/vision/types.js').FaceDetection;
type FaceTemplate = import('@portail/vision/face/embed-template.js').FaceTemplate;
type ExecutionProvider = import('@portail/vision/onnx-session.js').ExecutionProvider;

function fail(message: string): never {
  process.stderr.write(`bench-faces: ${message}\n`);
  process.exit(2);
}

const { values } = parseArgs({
  options: {
    passages: { type: 'string', default: '300' },
    warmup: { type: 'string', default: '10' },
    threads: { type: 'string', default: '1' },
    providers: { type: 'string', default: 'cpu' },
    embedder: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
  strict: true,
});
const passages = Number(values.passages);
const warmup = Number(values.warmup);
const intraOpThreads = Number(values.threads);
const providers = values.providers.split(',') as ExecutionProvider[];
const embedderId = values.embedder ?? DEFAULT_EMBEDDER;
if (!isEmbedderModelId(embedderId)) fail(`unknown embedder ${embedderId}`);
if (!(passages >= 1) || !(intraOpThreads >= 1)) fail('--passages and --threads take positive integers');

const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));
const DATA_DIR = process.env.PORTAIL_DATA_DIR ?? resolve(REPO_ROOT, '..', 'shared', 'data');
const CLIPS = [
  'intel-face-demographics-walking-and-pause.mp4',
  'intel-face-demographics-walking.mp4',
  'intel-head-pose-face-detection-female-and-male.mp4',
  'face_recognition-short_hamilton_clip.mp4',
];

const frames: Frame[] = [];
for (const clip of CLIPS) {
  const info = probeClip(resolve(DATA_DIR, 'clips', clip));
  if (!info.ok) fail(info.error.message);
  for await (const f of readClipFrames(info.value, { cameraId: clip })) frames.push(f);
}
for (const f of readdirSync(resolve(DATA_DIR, 'liveness-samples')).filter((n) => n.endsWith('.jpg'))) {
  frames.push(await loadImageAsFrame(resolve(DATA_DIR, 'liveness-samples', f), f));
}

const detector = await createYunetDetector({ providers, intraOpThreads });
const pipeline = await createFacePipeline({ embedder: embedderId, providers, intraOpThreads });

// plain sessions of the same four files, opened with the same options, for the inference-only baseline
async function openPlain(name: string) {
  const m = await resolveModel(name);
  const { session } = await openOnnxSession(m.path, { providers, intraOpThreads });
  return session;
}
const plainYunet = await openPlain(YUNET_MODEL);
const plainLiveness = await Promise.all(LIVENESS_MODELS.map((m) => openPlain(m.name)));
const plainEmbedder = await openPlain(embedderId);

/** the capture zone's face: the largest */
function largest(faces: readonly FaceDetection[]): FaceDetection | undefined {
  return faces.reduce<FaceDetection | undefined>(
    (b, f) => (!b || f.box.w * f.box.h > b.box.w * b.box.h ? f : b),
    undefined,
  );
}

// Each frame's face, found once beforehand with the same detector, so a passage whose plain runs go
// first already knows which face to crop for them.
const work: { frame: Frame; face: FaceDetection }[] = [];
let framesWithoutFace = 0;
for (const frame of frames) {
  const face = largest(await detector.detect(frame));
  if (face) work.push({ frame, face });
  else framesWithoutFace++;
}
if (work.length === 0) fail('no faces found in the frames');

// The plain runs' inputs: the tensors the pipeline builds for this frame and face, made with the
// pipeline's own functions (the detector's preprocessing plan, the liveness crops, the ArcFace
// alignment and embedder normalisation), before the clock starts.
const yunetPre = createPreprocessor(
  (w, h) => planPadToMultiple(w, h, YUNET_STRIDES[YUNET_STRIDES.length - 1]!, 640), // the detector's defaults
  { padValue: 0 },
);
const L = LIVENESS_INPUT_PX;
const livenessData = LIVENESS_MODELS.map(() => new Float32Array(3 * L * L));
const livenessTensors = livenessData.map((d) => new ort.Tensor('float32', d, [1, 3, L, L]));
const A = ALIGNED_FACE_SIZE_PX;
const alignedCrop = new Uint8Array(A * A * 3);
const embedData = new Float32Array(3 * A * A);
const embedTensor = new ort.Tensor('float32', embedData, [1, 3, A, A]);
const embedSpec = EMBEDDER_SPECS[embedderId];
let lastYunetInput: Float32Array = new Float32Array(0);

async function pureRun(frame: Frame, face: FaceDetection) {
  const { data, plan } = yunetPre.run(frame);
  lastYunetInput = data;
  const yunetInput = new ort.Tensor('float32', data, [1, 3, plan.dstHeight, plan.dstWidth]);
  LIVENESS_MODELS.forEach((m, k) =>
    livenessInput(frame, livenessCropRect(frame.width, frame.height, face.box, m.scale), L, livenessData[k]),
  );
  embedderInput(alignFace(frame, face.landmarks, alignedCrop).data, embedSpec, A, embedData);
  const t0 = performance.now();
  await plainYunet.run({ [plainYunet.inputNames[0]!]: yunetInput });
  const t1 = performance.now();
  for (let k = 0; k < plainLiveness.length; k++) {
    const s = plainLiveness[k]!;
    await s.run({ [s.inputNames[0]!]: livenessTensors[k]! });
  }
  const t2 = performance.now();
  await plainEmbedder.run({ [plainEmbedder.inputNames[0]!]: embedTensor });
  const t3 = performance.now();
  return { detect: t1 - t0, liveness: t2 - t1, embed: t3 - t2, total: t3 - t0 };
}

const pipelineMs: number[] = [];
const pureMs: number[] = [];
const stage: Record<'detect' | 'align' | 'quality' | 'liveness' | 'embed' | 'compare', number[]> = {
  detect: [],
  align: [],
  quality: [],
  liveness: [],
  embed: [],
  compare: [],
};
const pureStage: Record<'detect' | 'liveness' | 'embed', number[]> = { detect: [], liveness: [], embed: [] };
const overheadMs: number[] = [];
let reference: FaceTemplate | null = null;
let qualityOk = 0;
const qualityFailures = new Map<string, number>();
let live = 0;
let detectionMismatches = 0;
let done = -warmup;
const loadStart = loadavg();
for (let i = 0; done < passages; i++) {
  const { frame, face: expected } = work[i % work.length]!;
  const pureFirst = (i & 1) === 1;
  const pureBefore = pureFirst ? await pureRun(frame, expected) : null;
  const t0 = performance.now();
  const faces = await detector.detect(frame);
  const t1 = performance.now();
  const face = largest(faces);
  if (!face) fail(`frame ${frame.cameraId}#${frame.seq} lost its face between two identical runs`);
  const a = await pipeline.analyse(frame, face);
  const t2 = performance.now();
  reference ??= a.template;
  const cmp = compareTemplates(reference!, a.template!);
  if (!cmp.ok) fail(cmp.error.message);
  const t3 = performance.now();
  const pure = pureBefore ?? (await pureRun(frame, expected));
  if (face.box.x !== expected.box.x || face.box.w !== expected.box.w || face.score !== expected.score) {
    detectionMismatches++;
  }
  if (done++ < 0) continue; // warm-up
  pipelineMs.push(t3 - t0);
  pureMs.push(pure.total);
  overheadMs.push(t3 - t0 - pure.total);
  stage.detect.push(t1 - t0);
  stage.align.push(a.timingsMs.align);
  stage.quality.push(a.timingsMs.quality);
  stage.liveness.push(a.timingsMs.liveness);
  stage.embed.push(a.timingsMs.embed);
  stage.compare.push(t3 - t2);
  pureStage.detect.push(pure.detect);
  pureStage.liveness.push(pure.liveness);
  pureStage.embed.push(pure.embed);
  if (a.quality.ok) qualityOk++;
  for (const f of a.quality.failures) qualityFailures.set(f, (qualityFailures.get(f) ?? 0) + 1);
  if (a.liveness?.live) live++;
}
const loadEnd = loadavg();
await Promise.all([
  detector.close(),
  pipeline.close(),
  plainYunet.release(),
  plainEmbedder.release(),
  ...plainLiveness.map((s) => s.release()),
]);
for (const f of frames) f.data.fill(0);
for (const d of [...livenessData, embedData, alignedCrop, lastYunetInput]) d.fill(0);

const r3 = (x: number) => Math.round(x * 1000) / 1000;
const stats = (xs: number[]) => ({ median: r3(median(xs)), p95: r3(quantile(xs, 0.95)) });
process.stdout.write(
  `${JSON.stringify({
    passages: pipelineMs.length,
    warmupPassages: warmup,
    frames: frames.length,
    framesWithoutFace,
    sources: [...CLIPS, 'liveness-samples/*.jpg'],
    embedder: pipeline.embedder.modelId,
    models: [YUNET_MODEL, ...LIVENESS_MODELS.map((m) => m.name), pipeline.embedder.modelId],
    providersRequested: providers,
    provider: pipeline.embedder.provider,
    intraOpThreads,
    interOpThreads: 1,
    // infra/onnx-session.ts sets it on every session
    denormalsAsZero: true,
    pureInputs: 'the pipeline tensors',
    order: 'alternating',
    detectionMismatches,
    passageMs: stats(pipelineMs),
    overheadMsPerPassage: stats(overheadMs),
    stageMs: Object.fromEntries(Object.entries(stage).map(([k, v]) => [k, stats(v)])),
    pureSessionRunMs: {
      ...stats(pureMs),
      ...Object.fromEntries(Object.entries(pureStage).map(([k, v]) => [k, stats(v)])),
    },
    overheadRatio: r3(median(pipelineMs) / median(pureMs)),
    overheadRatioP95: r3(quantile(pipelineMs, 0.95) / quantile(pureMs, 0.95)),
    qualityOkShare: r3(qualityOk / pipelineMs.length),
    qualityFailures: Object.fromEntries(qualityFailures),
    liveShare: r3(live / pipelineMs.length),
    cpu: cpus()[0]?.model,
    cores: cpus().length,
    loadavg1m: { start: r3(loadStart[0]!), end: r3(loadEnd[0]!) },
    node: process.version,
    onnxruntime: ort.env.versions?.common ?? null,
  })}\n`,
);
