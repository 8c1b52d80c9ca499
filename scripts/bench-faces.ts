/**
 * Compute time of one gate passage on real frames:
 *   node --import tsx scripts/bench-faces.ts [--passages 300] [--threads 1] [--providers cpu] [--embedder <id>] --json
 * A passage is one frame through detect (YuNet) → align → quality → liveness (2 models) → embed →
 * compare with an enrolled template. Frames are the real face clips in shared/data/clips (decoded
 * by ffmpeg into memory) and the liveness sample photos; frames without a face are skipped. Each
 * passage is followed by a plain `session.run` of the same four models on same-shaped inputs in
 * the same process, so the overhead ratio (pipeline / pure inference) sees the same machine load.
 * Prints ONE JSON line. Nothing is written to disk.
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
const { openOnnxSession, ort } = await import('../edge-agent/src/infra/onnx-session.js');
const { loadImageAsFrame } = await import('../edge-agent/src/vision/image-frame.js');
const { planPadToMultiple } = await import('../edge-agent/src/vision/preprocess.js');
const { createYunetDetector, YUNET_MODEL } = await import('../edge-agent/src/vision/face/yunet-detector.js');
const { createFacePipeline } = await import('../edge-agent/src/vision/face/face-pipeline.js');
const { DEFAULT_EMBEDDER, isEmbedderModelId } = await import('../edge-agent/src/vision/face/embed.js');
const { compareTemplates } = await import('../edge-agent/src/vision/face/embed-template.js');
const { LIVENESS_MODELS, LIVENESS_INPUT_PX } = await import('../edge-agent/src/vision/face/liveness.js');
const { median, quantile } = await import('../edge-agent/src/vision/face/eval/pair-scoring.js');
type Frame = import('../edge-agent/src/vision/types.js').Frame;
type FaceTemplate = import('../edge-agent/src/vision/face/embed-template.js').FaceTemplate;
type ExecutionProvider = import('../edge-agent/src/infra/onnx-session.js').ExecutionProvider;

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
    'denormals-as-zero': { type: 'boolean', default: false },
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

const denormalsAsZero = values['denormals-as-zero'];
if (denormalsAsZero) {
  // onnxruntime applies `session.set_denormal_as_zero` of the FIRST session of the process to the
  // threads that run inference (std::call_once), so a throwaway session primes it before any real
  // one opens. This previews that setting in infra/onnx-session.ts: fr_feature's weights drive its
  // convolutions into subnormal floats, which Intel CPUs compute ~7× slower (identical output).
  const primer = await ort.InferenceSession.create((await resolveModel(YUNET_MODEL)).path, {
    intraOpNumThreads: 1,
    extra: { session: { set_denormal_as_zero: '1' } },
  });
  await primer.release();
}

const detector = await createYunetDetector({ providers, intraOpThreads });
const pipeline = await createFacePipeline({ embedder: embedderId, providers, intraOpThreads });

// plain sessions of the same four files, for the inference-only baseline
async function openPlain(name: string) {
  const m = await resolveModel(name);
  const { session } = await openOnnxSession(m.path, { providers, intraOpThreads });
  return session;
}
const plainYunet = await openPlain(YUNET_MODEL);
const plainLiveness = await Promise.all(LIVENESS_MODELS.map((m) => openPlain(m.name)));
const plainEmbedder = await openPlain(embedderId);
const noise = (n: number) => Float32Array.from({ length: n }, (_, i) => ((i * 2654435761) >>> 24) & 0xff);
const yunetInputs = new Map<string, InstanceType<typeof ort.Tensor>>();
function yunetInput(f: Frame) {
  // the detector's own plan (default maxInputSide 640, multiples of the largest stride)
  const plan = planPadToMultiple(f.width, f.height, 32, 640);
  const w = plan.dstWidth;
  const h = plan.dstHeight;
  const key = `${w}x${h}`;
  if (!yunetInputs.has(key)) yunetInputs.set(key, new ort.Tensor('float32', noise(3 * w * h), [1, 3, h, w]));
  return yunetInputs.get(key)!;
}
const livenessInput = new ort.Tensor('float32', noise(3 * LIVENESS_INPUT_PX ** 2), [
  1,
  3,
  LIVENESS_INPUT_PX,
  LIVENESS_INPUT_PX,
]);
const embedInput = new ort.Tensor(
  'float32',
  noise(3 * 112 * 112).map((v) => (v - 127.5) / 128),
  [1, 3, 112, 112],
);

async function pureRun(f: Frame) {
  const t0 = performance.now();
  await plainYunet.run({ [plainYunet.inputNames[0]!]: yunetInput(f) });
  const t1 = performance.now();
  for (const s of plainLiveness) await s.run({ [s.inputNames[0]!]: livenessInput });
  const t2 = performance.now();
  await plainEmbedder.run({ [plainEmbedder.inputNames[0]!]: embedInput });
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
let reference: FaceTemplate | null = null;
let framesWithoutFace = 0;
let qualityOk = 0;
const qualityFailures = new Map<string, number>();
let live = 0;
let done = -warmup;
const loadStart = loadavg();
for (let i = 0; done < passages; i++) {
  const frame = frames[i % frames.length]!;
  const t0 = performance.now();
  const faces = await detector.detect(frame);
  const t1 = performance.now();
  // the capture zone's face: the largest
  const face = faces.reduce<(typeof faces)[number] | undefined>(
    (b, f) => (!b || f.box.w * f.box.h > b.box.w * b.box.h ? f : b),
    undefined,
  );
  if (!face) {
    if (i < frames.length) framesWithoutFace++;
    if (i > 10 * frames.length && done <= 0) fail('no faces found in the frames');
    continue;
  }
  const a = await pipeline.analyse(frame, face);
  const t2 = performance.now();
  reference ??= a.template;
  const cmp = compareTemplates(reference!, a.template!);
  if (!cmp.ok) fail(cmp.error.message);
  const t3 = performance.now();
  const pure = await pureRun(frame);
  if (done++ < 0) continue; // warm-up
  pipelineMs.push(t3 - t0);
  pureMs.push(pure.total);
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
    denormalsAsZero,
    passageMs: stats(pipelineMs),
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
