import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadImageAsFrame } from '../image-frame.js';
import type { Detector, FaceDetection } from '../types.js';
import { compareTemplates } from './embed-template.js';
import { pickCentralFace } from './eval/pair-scoring.js';
import { createFacePipeline, type FacePipeline } from './face-pipeline.js';
import { createYunetDetector } from './yunet-detector.js';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const DATA_DIR = process.env.PORTAIL_DATA_DIR ?? resolve(REPO_ROOT, '..', 'shared', 'data');

describe('face pipeline with the default models on real images', () => {
  let detector: Detector<FaceDetection>;
  let pipeline: FacePipeline;

  beforeAll(async () => {
    detector = await createYunetDetector({ scoreThreshold: 0.3 });
    pipeline = await createFacePipeline();
  });
  afterAll(async () => {
    await detector?.close();
    await pipeline?.close();
  });

  async function analyse(path: string) {
    const frame = await loadImageAsFrame(path);
    const face = pickCentralFace(await detector.detect(frame), frame.width, frame.height);
    if (!face) throw new Error(`no face in ${path}`);
    return pipeline.analyse(frame, face);
  }

  it('reports quality, liveness and a 512-d fr_feature template with per-stage timings for a live face', async () => {
    const r = await analyse(resolve(DATA_DIR, 'liveness-samples', 'image_T1.jpg'));
    expect(r.quality.interOcularPx).toBeGreaterThan(40);
    expect(r.quality.faceSizePx).toBeGreaterThan(100);
    expect(r.quality.sharpness).toBeGreaterThan(0);
    expect(r.liveness?.live).toBe(true);
    expect(r.template?.modelId).toBe('faceplugin-fr-feature-512d');
    expect(r.template?.vector.length).toBe(512);
    expect(r.timingsMs.total).toBeGreaterThanOrEqual(r.timingsMs.embed);
    expect(pipeline.embedder.modelId).toBe('faceplugin-fr-feature-512d');
    expect(pipeline.liveness?.models.map((m) => m.name)).toEqual(['minifasnet-v2-2.7', 'minifasnet-v1se-4.0']);
  });

  it('flags the screen replay F2 and still embeds it', async () => {
    const r = await analyse(resolve(DATA_DIR, 'liveness-samples', 'image_F2.jpg'));
    expect(r.liveness?.live).toBe(false);
    expect(r.template).not.toBeNull();
  });

  it('matches two photos of one person above two different people', async () => {
    const lfw = (p: string) => resolve(DATA_DIR, 'faces-dev', 'images', p);
    const a = await analyse(lfw('Amber_Tamblyn/Amber_Tamblyn_0001.jpg'));
    const b = await analyse(lfw('Amber_Tamblyn/Amber_Tamblyn_0002.jpg'));
    const c = await analyse(lfw('Dean_Barker/Dean_Barker_0001.jpg'));
    const same = compareTemplates(a.template!, b.template!);
    const diff = compareTemplates(a.template!, c.template!);
    if (!same.ok || !diff.ok) throw new Error('templates of one pipeline must compare');
    expect(same.value).toBeGreaterThan(0.4);
    expect(diff.value).toBeLessThan(0.25);
  });
});
