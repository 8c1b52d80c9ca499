/**
 * Scoring labelled image pairs with the real pipeline (detect → align → embed → cosine), shared by
 * scripts/eval-faces.ts and scripts/calibrate.ts. Images are read, embedded and dropped one by one;
 * only templates and numbers are kept, nothing is written.
 */
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadImageAsFrame } from '../../image-frame.js';
import type { Detector, FaceDetection } from '../../types.js';
import { alignFace } from '../align.js';
import { compareTemplates, type FaceTemplate } from '../embed-template.js';
import { toTemplate, type Embedder } from '../embed.js';
import { assessQuality, type QualityReport } from '../quality.js';
import type { ScoredPair } from './verification-metrics.js';

export interface PairRow {
  fold: number;
  img1: string;
  img2: string;
  same: boolean;
}

/** `fold  img1  img2  same` rows, tab-separated, with an optional header line. */
export function parsePairsTsv(text: string): PairRow[] {
  const rows: PairRow[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((line, i) => {
    if (line.trim() === '' || (i === 0 && line.startsWith('fold'))) return;
    const cols = line.split('\t');
    const fold = Number(cols[0]);
    const same = cols[3]?.trim();
    if (cols.length < 4 || !Number.isInteger(fold) || !cols[1] || !cols[2] || (same !== '0' && same !== '1')) {
      throw new Error(`pairs line ${i + 1} is not "fold<TAB>img1<TAB>img2<TAB>0|1": ${JSON.stringify(line)}`);
    }
    rows.push({ fold, img1: cols[1], img2: cols[2], same: same === '1' });
  });
  return rows;
}

/**
 * The evaluation's face choice on a whole LFW image (faces-dev README): among faces scoring
 * ≥ minScore, the one whose box centre is nearest the image centre.
 */
export function pickCentralFace(
  faces: readonly FaceDetection[],
  width: number,
  height: number,
  minScore = 0.5,
): FaceDetection | undefined {
  let best: FaceDetection | undefined;
  let bestD = Infinity;
  for (const f of faces) {
    if (f.score < minScore) continue;
    const d = Math.hypot(f.box.x + f.box.w / 2 - width / 2, f.box.y + f.box.h / 2 - height / 2);
    if (d < bestD) {
      bestD = d;
      best = f;
    }
  }
  return best;
}

export interface EmbeddedImage {
  /** null when no face was found (a failure to detect) */
  template: FaceTemplate | null;
  quality: QualityReport | null;
  timingsMs: { decode: number; detect: number; align: number; embed: number };
}

/** Decode, detect, align and embed each image once. */
export async function embedImages(
  relPaths: readonly string[],
  deps: {
    imagesDir: string;
    detector: Detector<FaceDetection>;
    embedder: Embedder;
    onProgress?: (done: number) => void;
  },
): Promise<Map<string, EmbeddedImage>> {
  const out = new Map<string, EmbeddedImage>();
  let done = 0;
  for (const rel of relPaths) {
    const t0 = performance.now();
    const frame = await loadImageAsFrame(join(deps.imagesDir, rel), 'eval');
    const t1 = performance.now();
    const face = pickCentralFace(await deps.detector.detect(frame), frame.width, frame.height);
    const t2 = performance.now();
    if (!face) {
      out.set(rel, {
        template: null,
        quality: null,
        timingsMs: { decode: t1 - t0, detect: t2 - t1, align: 0, embed: 0 },
      });
    } else {
      const aligned = alignFace(frame, face.landmarks);
      const quality = assessQuality(face, aligned);
      const t3 = performance.now();
      const vector = await deps.embedder.embed(aligned.data);
      const t4 = performance.now();
      aligned.data.fill(0);
      out.set(rel, {
        template: toTemplate(deps.embedder, vector),
        quality,
        timingsMs: { decode: t1 - t0, detect: t2 - t1, align: t3 - t2, embed: t4 - t3 },
      });
    }
    frame.data.fill(0);
    deps.onProgress?.(++done);
  }
  return out;
}

/** Cosine per pair; a pair with an undetected image scores −1 (a rejection), as a gate would. */
export function scorePairs(
  rows: readonly PairRow[],
  templateOf: (rel: string) => FaceTemplate | null | undefined,
): { pairs: ScoredPair[]; pairsWithMissingFace: number } {
  let missing = 0;
  const pairs = rows.map((r): ScoredPair => {
    const a = templateOf(r.img1);
    const b = templateOf(r.img2);
    if (!a || !b) {
      missing++;
      return { fold: r.fold, score: -1, same: r.same };
    }
    const c = compareTemplates(a, b);
    if (!c.ok) throw new Error(`${r.img1} / ${r.img2}: ${c.error.message}`);
    return { fold: r.fold, score: c.value, same: r.same };
  });
  return { pairs, pairsWithMissingFace: missing };
}

export function median(values: readonly number[]): number {
  return quantile(values, 0.5);
}

/** Linear-interpolated quantile (numpy's default), NaN for no values. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
}

/**
 * Pre-computed scores, one pair a line: `score<TAB>same` or `fold<TAB>score<TAB>same` (same: 1 or
 * 0), optional header. Lets a site calibrate from scores exported without any image.
 */
export function parseScoresTsv(text: string): ScoredPair[] {
  const pairs: ScoredPair[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    const cols = line.trim().split('\t');
    if (line.trim() === '' || (i === 0 && Number.isNaN(Number(cols[0])))) return;
    const [fold, score, same] =
      cols.length >= 3 ? [Number(cols[0]), Number(cols[1]), cols[2]] : [1, Number(cols[0]), cols[1]];
    if (!Number.isFinite(score) || !Number.isInteger(fold) || (same !== '0' && same !== '1')) {
      throw new Error(`scores line ${i + 1} is not "[fold<TAB>]score<TAB>0|1": ${JSON.stringify(line)}`);
    }
    pairs.push({ fold, score, same: same === '1' });
  });
  return pairs;
}
