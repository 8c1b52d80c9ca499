/**
 * 1:1 face verification on labelled pairs (LFW protocol), with the gate's own stages:
 *   node --import tsx scripts/eval-faces.ts --pairs <pairs.tsv> --images <dir> [--embedder <id>] --json
 * YuNet on the whole image (a 250×250 LFW image is zero-padded to 256×256, score ≥ 0.3), the face
 * nearest the centre with score ≥ 0.5, 5-point similarity to the ArcFace template, embedding,
 * cosine. Prints ONE JSON line: leave-one-fold-out accuracy, TAR at FAR 1e-2 / 1e-3 with the
 * impostor count, thresholds, failure-to-detect rate, median per-stage ms, the same metrics with
 * int8-quantised templates, and quality statistics of the aligned faces.
 *   --subset <n>     only the first n genuine and n impostor pairs of each fold (debugging)
 *   --threads <n>    intra-op threads per session (default 1)
 */
import { readFileSync } from 'node:fs';
import { register } from 'node:module';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';

// The workspaces export their TypeScript sources under the `portail-src` condition, which
// `npm run eval:faces` passes to node; add it here so a plain `node --import tsx` run works too.
// Everything that reaches a workspace is therefore imported dynamically, after this line.
register(
  'data:text/javascript,export async function resolve(s,c,n){return n(s,{...c,conditions:[...c.conditions,"portail-src"]})}',
);

const { createYunetDetector, YUNET_MODEL } = await import('@portail/vision/face/yunet-detector.js');
const { createEmbedder, DEFAULT_EMBEDDER, isEmbedderModelId } = await import('@portail/vision/face/embed.js');
const { dequantiseTemplate, quantiseTemplate } = await import('@portail/vision/face/embed-template.js');
const { embedImages, median, parsePairsTsv, quantile, scorePairs } =
  await import('@portail/vision/face/eval/pair-scoring.js');
const { bestAccuracyThreshold, leaveOneFoldOutAccuracy, tarAtFar } =
  await import('@portail/vision/face/eval/verification-metrics.js');
type ScoredPair = import('@portail/vision/face/eval/verification-metrics.js').ScoredPair;
type PairRow = import('@portail/vision/face/eval/pair-scoring.js').PairRow;

function fail(message: string): never {
  process.stderr.write(`eval-faces: ${message}\n`);
  process.exit(2);
}

const { values } = parseArgs({
  options: {
    pairs: { type: 'string' },
    images: { type: 'string' },
    embedder: { type: 'string' },
    json: { type: 'boolean', default: false },
    subset: { type: 'string' },
    threads: { type: 'string' },
  },
  strict: true,
});
if (!values.pairs || !values.images) {
  fail(
    'usage: eval-faces.ts --pairs <pairs.tsv> --images <dir> [--embedder <id>] [--subset <n>] [--threads <n>] --json',
  );
}
const embedderId = values.embedder ?? DEFAULT_EMBEDDER;
if (!isEmbedderModelId(embedderId)) fail(`unknown embedder ${embedderId}`);
const threads = values.threads ? Number(values.threads) : 1;

let rows: PairRow[];
try {
  rows = parsePairsTsv(readFileSync(resolve(values.pairs), 'utf8'));
} catch (err) {
  fail((err as Error).message);
}
if (values.subset) {
  const n = Number(values.subset);
  const kept: PairRow[] = [];
  const seen = new Map<string, number>();
  for (const r of rows) {
    const key = `${r.fold}:${r.same}`;
    const c = seen.get(key) ?? 0;
    if (c < n) kept.push(r);
    seen.set(key, c + 1);
  }
  rows = kept;
}

const detector = await createYunetDetector({ scoreThreshold: 0.3, intraOpThreads: threads });
const embedder = await createEmbedder({ model: embedderId, intraOpThreads: threads });
const images = [...new Set(rows.flatMap((r) => [r.img1, r.img2]))];
const embedded = await embedImages(images, { imagesDir: resolve(values.images), detector, embedder });
await Promise.all([detector.close(), embedder.close()]);

function metrics(pairs: ScoredPair[]) {
  const lofo = leaveOneFoldOutAccuracy(pairs);
  const far = (f: number) => {
    const t = tarAtFar(pairs, f);
    return {
      tar: t.tar,
      threshold: t.threshold,
      impostorCount: t.impostorCount,
      genuineCount: t.genuineCount,
      allowedFalseAccepts: t.allowedFalseAccepts,
      falseAccepts: t.falseAccepts,
      resolvable: t.resolvable,
    };
  };
  return {
    accuracy: lofo.meanAccuracy,
    accuracyStd: lofo.stdAccuracy,
    folds: lofo.folds,
    accuracyThresholdAllPairs: bestAccuracyThreshold(pairs).threshold,
    tarAtFar1e2: far(1e-2),
    tarAtFar1e3: far(1e-3),
  };
}

const { pairs, pairsWithMissingFace } = scorePairs(rows, (rel) => embedded.get(rel)?.template);
const quantised = new Map(
  [...embedded].map(([rel, e]) => [rel, e.template ? dequantiseTemplate(quantiseTemplate(e.template)) : null]),
);
const { pairs: int8Pairs } = scorePairs(rows, (rel) => quantised.get(rel));
const deltas = pairs.map((p, i) => Math.abs(p.score - int8Pairs[i]!.score));
const all = [...embedded.values()];
const found = all.filter((e) => e.template);
const qualities = found.map((e) => e.quality!);
const full = metrics(pairs);
const int8 = metrics(int8Pairs);
const r4 = (x: number) => Math.round(x * 1e4) / 1e4;

// Does the quality gate predict bad matches? Genuine pairs split by whether both faces pass the
// default minimums, with their false-reject rate at the FAR 1e-2 threshold.
const bothOk = (i: number) => [rows[i]!.img1, rows[i]!.img2].every((rel) => embedded.get(rel)?.quality?.ok === true);
function genuineSplit(keep: (i: number) => boolean) {
  const scores = pairs.flatMap((p, i) => (p.same && keep(i) ? [p.score] : []));
  const t = full.tarAtFar1e2.threshold;
  return {
    pairs: scores.length,
    medianScore: r4(median(scores)),
    falseRejectRateAtFar1e2: scores.length ? r4(scores.filter((x) => x < t).length / scores.length) : null,
  };
}

process.stdout.write(
  `${JSON.stringify({
    embedder: embedderId,
    embedderSha256: embedder.sha256,
    dim: embedder.dim,
    detector: YUNET_MODEL,
    detectorScoreThreshold: 0.3,
    provider: embedder.provider,
    intraOpThreads: threads,
    folds: full.folds.length,
    pairs: pairs.length,
    images: images.length,
    accuracy: r4(full.accuracy),
    accuracyStd: r4(full.accuracyStd),
    perFold: full.folds.map((f) => ({ fold: f.fold, threshold: r4(f.threshold), accuracy: r4(f.accuracy) })),
    threshold: r4(full.accuracyThresholdAllPairs),
    tarAtFar1e2: full.tarAtFar1e2,
    tarAtFar1e3: full.tarAtFar1e3,
    failureToDetectRate: (all.length - found.length) / all.length,
    pairsWithMissingFace,
    medianMs: {
      decode: r4(median(all.map((e) => e.timingsMs.decode))),
      detect: r4(median(all.map((e) => e.timingsMs.detect))),
      align: r4(median(found.map((e) => e.timingsMs.align))),
      embed: r4(median(found.map((e) => e.timingsMs.embed))),
    },
    int8: {
      templateBytes: embedder.dim + 4,
      floatTemplateBytes: embedder.dim * 4,
      accuracy: r4(int8.accuracy),
      tarAtFar1e2: r4(int8.tarAtFar1e2.tar),
      tarAtFar1e3: r4(int8.tarAtFar1e3.tar),
      maxAbsScoreDelta: r4(Math.max(...deltas)),
      meanAbsScoreDelta: Math.round((deltas.reduce((a, b) => a + b, 0) / deltas.length) * 1e6) / 1e6,
    },
    quality: {
      sharpness: {
        p5: r4(
          quantile(
            qualities.map((q) => q.sharpness),
            0.05,
          ),
        ),
        p50: r4(
          quantile(
            qualities.map((q) => q.sharpness),
            0.5,
          ),
        ),
      },
      interOcularPxP50: r4(
        quantile(
          qualities.map((q) => q.interOcularPx),
          0.5,
        ),
      ),
      absYawDegP95: r4(
        quantile(
          qualities.map((q) => Math.abs(q.yawDeg)),
          0.95,
        ),
      ),
      absPitchDegP95: r4(
        quantile(
          qualities.map((q) => Math.abs(q.pitchDeg)),
          0.95,
        ),
      ),
      failingDefaults: qualities.filter((q) => !q.ok).length,
      genuineBothOk: genuineSplit(bothOk),
      genuineAnyFailing: genuineSplit((i) => !bothOk(i)),
      failures: Object.fromEntries(
        ['face-too-small', 'eyes-too-close', 'blurred', 'yaw', 'pitch', 'roll'].map((k) => [
          k,
          qualities.filter((q) => q.failures.includes(k as never)).length,
        ]),
      ),
    },
  })}\n`,
);
