import { describe, expect, it } from 'vitest';
import type { FaceTemplate } from '@portail/vision/face/embed-template.js';
import type { QualityReport } from '@portail/vision/face/quality.js';
import { decidePassage, type FaceObservation } from './decide-passage.js';

const q = (score: number, ok = true): QualityReport =>
  ({ ok, score, failures: ok ? [] : ['blurred'], faceSizePx: 100, interOcularPx: 40, sharpness: 80, detectionScore: 0.9, yawDeg: 0, pitchDeg: 0, rollDeg: 0 });
const probe = (sim: number): FaceTemplate => ({ modelId: 'm', sha256: 's', dim: 1, vector: Float32Array.of(sim) });
const obs = (score: number, sim: number, liveness: number | null = 0.9, ok = true): FaceObservation => ({ tMs: 0, quality: q(score, ok), liveness, probe: ok ? probe(sim) : null });
const simOf = (p: FaceTemplate) => p.vector[0]!;
const opts = { similarityThreshold: 0.35, livenessThreshold: 0.5, topK: 2 };

describe('decidePassage', () => {
  it('no frames → no_face; only unusable frames → low_quality', () => {
    expect(decidePassage([], simOf, opts).decision).toBe('no_face');
    expect(decidePassage([obs(0.2, 0.9, 0.9, false)], simOf, opts)).toMatchObject({ decision: 'low_quality', framesUsed: 0 });
  });

  it('averages the similarity of the top-k frames by quality, not the best similarity', () => {
    // the highest similarity sits on the worst frame: it must not decide alone
    const r = decidePassage([obs(0.9, 0.3), obs(0.8, 0.32), obs(0.1, 0.95)], simOf, opts);
    expect(r.decision).toBe('mismatch');
    expect(r.similarity).toBeCloseTo(0.31, 5);
    expect(decidePassage([obs(0.9, 0.5), obs(0.8, 0.4), obs(0.1, 0.0)], simOf, opts)).toMatchObject({ decision: 'confirmed', framesUsed: 2 });
  });

  it('flags a spoof on the mean liveness of usable frames, before comparing faces', () => {
    const r = decidePassage([obs(0.9, 0.9, 0.2), obs(0.8, 0.9, 0.6)], simOf, opts);
    expect(r).toMatchObject({ decision: 'spoof_suspected', liveness: 0.4 });
    expect(decidePassage([obs(0.9, 0.9, 0.2)], simOf, { ...opts, livenessThreshold: null }).decision).toBe('confirmed');
  });

  it('never guesses when the reference belongs to another model', () => {
    expect(decidePassage([obs(0.9, 0.9)], () => null, opts).decision).toBe('low_quality');
  });
});
