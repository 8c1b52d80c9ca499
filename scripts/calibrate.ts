/**
 * Operating threshold for a target false-accept rate, from a labelled pairs set:
 *   node --import tsx scripts/calibrate.ts --pairs <pairs.tsv> --images <dir> [--embedder <id>] [--far 1e-3] --json
 *   node --import tsx scripts/calibrate.ts --scores <scores.tsv> [--far 1e-3,1e-2] --json
 * The first form scores the pairs with the gate's own stages (as scripts/eval-faces.ts); the second
 * takes pre-computed `[fold<TAB>]score<TAB>same` lines, so a site can calibrate from scores alone.
 * Prints ONE JSON line: for each FAR, the threshold (accept iff cosine ≥ threshold), the impostor
 * count, the false accepts it allows, whether the set is large enough to resolve that FAR, and the
 * TAR there; plus the accuracy-optimal threshold. LFW is no substitute for the site's own pairs.
 */
import { readFileSync } from 'node:fs';
import { register } from 'node:module';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';

// see scripts/eval-faces.ts: lets a plain `node --import tsx` run resolve the workspaces' sources
register(
  'data:text/javascript,export async function resolve(s,c,n){return n(s,{...c,conditions:[...c.conditions,"portail-src"]})}',
);

const { embedImages, parsePairsTsv, parseScoresTsv, scorePairs } =
  await import('@portail/vision/face/eval/pair-scoring.js');
const { bestAccuracyThreshold, tarAtFar } = await import('@portail/vision/face/eval/verification-metrics.js');
type ScoredPair = import('@portail/vision/face/eval/verification-metrics.js').ScoredPair;

function fail(message: string): never {
  process.stderr.write(`calibrate: ${message}\n`);
  process.exit(2);
}

const { values } = parseArgs({
  options: {
    pairs: { type: 'string' },
    images: { type: 'string' },
    scores: { type: 'string' },
    embedder: { type: 'string' },
    far: { type: 'string', default: '1e-3,1e-2' },
    json: { type: 'boolean', default: false },
    threads: { type: 'string' },
  },
  strict: true,
});
const fars = values.far.split(',').map(Number);
if (fars.some((f) => !(f > 0 && f < 1))) fail(`--far takes rates in (0, 1), got ${values.far}`);

let pairs: ScoredPair[];
let source: Record<string, unknown>;
if (values.scores) {
  try {
    pairs = parseScoresTsv(readFileSync(resolve(values.scores), 'utf8'));
  } catch (err) {
    fail((err as Error).message);
  }
  source = { scores: values.scores };
} else if (values.pairs && values.images) {
  const { createYunetDetector, YUNET_MODEL } = await import('@portail/vision/face/yunet-detector.js');
  const { createEmbedder, DEFAULT_EMBEDDER, isEmbedderModelId } =
    await import('@portail/vision/face/embed.js');
  const embedderId = values.embedder ?? DEFAULT_EMBEDDER;
  if (!isEmbedderModelId(embedderId)) fail(`unknown embedder ${embedderId}`);
  const threads = values.threads ? Number(values.threads) : 1;
  let rows;
  try {
    rows = parsePairsTsv(readFileSync(resolve(values.pairs), 'utf8'));
  } catch (err) {
    fail((err as Error).message);
  }
  const detector = await createYunetDetector({ scoreThreshold: 0.3, intraOpThreads: threads });
  const embedder = await createEmbedder({ model: embedderId, intraOpThreads: threads });
  const images = [...new Set(rows.flatMap((r) => [r.img1, r.img2]))];
  const embedded = await embedImages(images, { imagesDir: resolve(values.images), detector, embedder });
  await Promise.all([detector.close(), embedder.close()]);
  const scored = scorePairs(rows, (rel) => embedded.get(rel)?.template);
  pairs = scored.pairs;
  source = {
    pairs: values.pairs,
    embedder: embedderId,
    embedderSha256: embedder.sha256,
    detector: YUNET_MODEL,
    pairsWithMissingFace: scored.pairsWithMissingFace,
  };
} else {
  fail(
    'usage: calibrate.ts (--pairs <pairs.tsv> --images <dir> [--embedder <id>] | --scores <scores.tsv>) [--far 1e-3,1e-2] --json',
  );
}

const genuine = pairs.filter((p) => p.same).length;
process.stdout.write(
  `${JSON.stringify({
    ...source,
    genuineCount: genuine,
    impostorCount: pairs.length - genuine,
    thresholds: fars.map((far) => {
      const t = tarAtFar(pairs, far);
      return {
        far,
        threshold: t.threshold,
        allowedFalseAccepts: t.allowedFalseAccepts,
        falseAccepts: t.falseAccepts,
        resolvable: t.resolvable,
        impostorsNeededForOneFalseAccept: Math.ceil(1 / far),
        tar: t.tar,
      };
    }),
    accuracyOptimal: bestAccuracyThreshold(pairs),
  })}\n`,
);
