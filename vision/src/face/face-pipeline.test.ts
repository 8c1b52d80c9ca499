import { describe, expect, it } from 'vitest';
import type { Box, FaceDetection, Frame, Point } from '../types.js';
import { ARCFACE_TEMPLATE_112 } from './align.js';
import type { Embedder } from './embed.js';
import { createFacePipelineFrom } from './face-pipeline.js';
import { fuseLiveness, type LivenessChecker } from './liveness.js';

/** A textured frame with a face-shaped set of landmarks at 3× the template scale. */
function scene(): { frame: Frame; face: FaceDetection } {
  const width = 480;
  const height = 400;
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i++) data[i] = (Math.imul(i, 2654435761) >>> 24) & 0xff;
  const landmarks = ARCFACE_TEMPLATE_112.map(([x, y]): Point => [60 + 3 * x, 20 + 3 * y]) as FaceDetection['landmarks'];
  return {
    frame: { cameraId: 'cam', seq: 1, tsMs: 0, width, height, data },
    face: { box: { x: 120, y: 100, w: 220, h: 260 }, score: 0.9, landmarks },
  };
}

/** Records what it was given (and keeps a reference, to check the pipeline zeroes it afterwards). */
function fakeEmbedder(): Embedder & { seen: Uint8Array[]; closed: boolean } {
  const seen: Uint8Array[] = [];
  return {
    modelId: 'mobilefacenet-128d',
    sha256: 'f'.repeat(64),
    dim: 4,
    provider: 'cpu',
    seen,
    closed: false,
    async embed(crop) {
      seen.push(crop);
      // a real function of the crop: its mean brightness, so a blank crop would show
      let s = 0;
      for (const v of crop) s += v;
      return Float32Array.from([s / crop.length / 255, 0, 0, 0]);
    },
    async close() {
      this.closed = true;
    },
  };
}

function fakeLiveness(realScore: number): LivenessChecker & { boxes: Box[] } {
  const boxes: Box[] = [];
  return {
    models: [{ name: 'fake', sha256: 'e'.repeat(64) }],
    provider: 'cpu',
    threshold: 0.5,
    boxes,
    async check(_frame, box) {
      boxes.push(box);
      return fuseLiveness([{ model: 'fake', probs: [1 - realScore, realScore, 0] }], 0.5);
    },
    async close() {},
  };
}

describe('createFacePipelineFrom', () => {
  it('aligns, scores quality, checks liveness on the detector box and returns a template naming its model', async () => {
    const { frame, face } = scene();
    const embedder = fakeEmbedder();
    const liveness = fakeLiveness(0.97);
    const pipeline = createFacePipelineFrom({ embedder, liveness });
    const r = await pipeline.analyse(frame, face);
    expect(r.quality.ok).toBe(true);
    expect(r.quality.interOcularPx).toBeCloseTo(3 * 35.24, 1);
    expect(r.liveness?.realScore).toBeCloseTo(0.97, 12);
    expect(r.liveness?.live).toBe(true);
    expect(liveness.boxes).toEqual([face.box]);
    expect(r.template).toMatchObject({ modelId: 'mobilefacenet-128d', sha256: 'f'.repeat(64), dim: 4 });
    expect(r.template!.vector[0]).toBeGreaterThan(0.3); // the crop held the textured face, not zeros
    for (const k of ['align', 'quality', 'liveness', 'embed', 'total'] as const)
      expect(r.timingsMs[k]).toBeGreaterThanOrEqual(0);
    expect(pipeline.embedder.modelId).toBe('mobilefacenet-128d');
  });

  it('zeroes the aligned crop once analyse returns', async () => {
    const { frame, face } = scene();
    const embedder = fakeEmbedder();
    await createFacePipelineFrom({ embedder }).analyse(frame, face);
    expect(embedder.seen).toHaveLength(1);
    expect(embedder.seen[0]!.length).toBe(112 * 112 * 3);
    expect(embedder.seen[0]!.every((v) => v === 0)).toBe(true);
  });

  it('runs without liveness when none is given', async () => {
    const { frame, face } = scene();
    const r = await createFacePipelineFrom({ embedder: fakeEmbedder() }).analyse(frame, face);
    expect(r.liveness).toBeNull();
    expect(r.template).not.toBeNull();
  });

  it('skips liveness and embedding below quality only when asked', async () => {
    const { frame, face } = scene();
    const small = { ...face, box: { ...face.box, w: 30, h: 30 } };
    const embedder = fakeEmbedder();
    const liveness = fakeLiveness(0.9);
    const pipeline = createFacePipelineFrom({ embedder, liveness });
    const skipped = await pipeline.analyse(frame, small, { skipBelowQuality: true });
    expect(skipped.quality.failures).toContain('face-too-small');
    expect(skipped.template).toBeNull();
    expect(skipped.liveness).toBeNull();
    expect(embedder.seen).toHaveLength(0);
    const full = await pipeline.analyse(frame, small);
    expect(full.template).not.toBeNull();
    expect(full.liveness).not.toBeNull();
  });

  it('passes quality options through and closes its components', async () => {
    const { frame, face } = scene();
    const embedder = fakeEmbedder();
    const pipeline = createFacePipelineFrom({ embedder, quality: { minFaceSizePx: 500 } });
    const r = await pipeline.analyse(frame, face);
    expect(r.quality.failures).toEqual(['face-too-small']);
    await pipeline.close();
    expect(embedder.closed).toBe(true);
  });
});
