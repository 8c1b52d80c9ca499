import type { AccessEvent } from '@portail/protocol';
import type { FaceTemplate } from '@portail/vision/face/embed-template.js';
import type { QualityReport } from '@portail/vision/face/quality.js';

/** One frame of a passage: the face chosen in the capture zone, analysed. */
export interface FaceObservation {
  tMs: number;
  quality: QualityReport;
  /** fused real score 0..1, null when liveness is off */
  liveness: number | null;
  /** probe template, null when skipped for low quality; zeroed once the passage is decided */
  probe: FaceTemplate | null;
}

export interface DecisionOptions {
  /** cosine threshold, set for a target false-match rate (`npm run calibrate`) */
  similarityThreshold: number;
  /** on the mean fused real score of the usable frames; null disables the liveness verdict */
  livenessThreshold: number | null;
  /** how many of the best-quality frames are averaged for the similarity */
  topK: number;
}

export type BiometricDecision = Extract<AccessEvent['decision'], 'confirmed' | 'mismatch' | 'no_face' | 'low_quality' | 'spoof_suspected'>;

export interface PassageOutcome {
  decision: BiometricDecision;
  similarity?: number;
  liveness?: number;
  quality?: number;
  framesSeen: number;
  framesUsed: number;
}

/**
 * Decide a biometric passage from its frames and the one reference template (pure). Order of the
 * checks: no face at all → `no_face`; no usable frame → `low_quality`; liveness below threshold
 * over the usable frames → `spoof_suspected`; then the similarity of the top-k frames by quality,
 * averaged, against the threshold. `similarity` compares one probe with the reference and may
 * refuse templates of another model (then the passage is `low_quality`, never a guess).
 */
export function decidePassage(
  observations: readonly FaceObservation[],
  similarity: (probe: FaceTemplate) => number | null,
  opts: DecisionOptions,
): PassageOutcome {
  const framesSeen = observations.length;
  if (framesSeen === 0) return { decision: 'no_face', framesSeen, framesUsed: 0 };
  const usable = observations.filter((o) => o.quality.ok && o.probe !== null);
  const bestQuality = Math.max(...observations.map((o) => o.quality.score));
  if (usable.length === 0) return { decision: 'low_quality', quality: bestQuality, framesSeen, framesUsed: 0 };

  let liveness: number | undefined;
  const live = usable.map((o) => o.liveness).filter((x): x is number => x !== null);
  if (opts.livenessThreshold !== null && live.length > 0) {
    liveness = live.reduce((a, b) => a + b, 0) / live.length;
    if (liveness < opts.livenessThreshold) {
      return { decision: 'spoof_suspected', liveness, quality: bestQuality, framesSeen, framesUsed: usable.length };
    }
  }

  const top = [...usable].sort((a, b) => b.quality.score - a.quality.score).slice(0, Math.max(1, opts.topK));
  const sims = top.map((o) => similarity(o.probe!)).filter((s): s is number => s !== null);
  if (sims.length === 0) return { decision: 'low_quality', quality: bestQuality, framesSeen, framesUsed: 0 };
  const sim = sims.reduce((a, b) => a + b, 0) / sims.length;
  return {
    decision: sim >= opts.similarityThreshold ? 'confirmed' : 'mismatch',
    similarity: sim,
    ...(liveness !== undefined ? { liveness } : {}),
    quality: bestQuality,
    framesSeen,
    framesUsed: sims.length,
  };
}
