import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadImageAsFrame } from '../image-frame.js';
import type { Detector, FaceDetection } from '../types.js';
import { alignFace } from './align.js';
import { compareTemplates, dot, type FaceTemplate } from './embed-template.js';
import { createEmbedder, DEFAULT_EMBEDDER, EMBEDDER_SPECS, toTemplate, type EmbedderModelId } from './embed.js';
import { pickCentralFace } from './eval/pair-scoring.js';
import { createYunetDetector } from './yunet-detector.js';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const DATA_DIR = process.env.PORTAIL_DATA_DIR ?? resolve(REPO_ROOT, '..', 'shared', 'data');
const lfw = (p: string) => resolve(DATA_DIR, 'faces-dev', 'images', p);

/** The first genuine and impostor pairs of fold 1 of faces-dev/pairs.tsv. */
const GENUINE: [string, string][] = [
  ['Abel_Pacheco/Abel_Pacheco_0001.jpg', 'Abel_Pacheco/Abel_Pacheco_0004.jpg'],
  ['Akhmed_Zakayev/Akhmed_Zakayev_0001.jpg', 'Akhmed_Zakayev/Akhmed_Zakayev_0003.jpg'],
  ['Amber_Tamblyn/Amber_Tamblyn_0001.jpg', 'Amber_Tamblyn/Amber_Tamblyn_0002.jpg'],
];
const IMPOSTOR: [string, string][] = [
  ['Abdel_Madi_Shabneh/Abdel_Madi_Shabneh_0001.jpg', 'Dean_Barker/Dean_Barker_0001.jpg'],
  ['Abdel_Madi_Shabneh/Abdel_Madi_Shabneh_0001.jpg', 'Giancarlo_Fisichella/Giancarlo_Fisichella_0001.jpg'],
  ['Abdel_Madi_Shabneh/Abdel_Madi_Shabneh_0001.jpg', 'Mikhail_Gorbachev/Mikhail_Gorbachev_0001.jpg'],
];

describe('face embedders on real LFW faces (YuNet → align → embed)', () => {
  let detector: Detector<FaceDetection>;
  const crops = new Map<string, Uint8Array>();

  beforeAll(async () => {
    detector = await createYunetDetector({ scoreThreshold: 0.3 });
    for (const p of new Set([...GENUINE, ...IMPOSTOR].flat())) {
      const frame = await loadImageAsFrame(lfw(p));
      const face = pickCentralFace(await detector.detect(frame), frame.width, frame.height);
      if (!face) throw new Error(`no face in ${p}`);
      crops.set(p, alignFace(frame, face.landmarks).data);
    }
  });
  afterAll(async () => {
    await detector?.close();
    for (const c of crops.values()) c.fill(0);
  });

  it.each(Object.keys(EMBEDDER_SPECS) as EmbedderModelId[])(
    '%s: unit-length output, genuine pairs above 0.4 and impostors below 0.25',
    async (model) => {
      const embedder = await createEmbedder({ model });
      try {
        expect(embedder.modelId).toBe(model);
        expect(embedder.dim).toBe(EMBEDDER_SPECS[model].dim);
        expect(embedder.sha256).toMatch(/^[0-9a-f]{64}$/);
        const templates = new Map<string, FaceTemplate>();
        for (const [p, crop] of crops) {
          const v = await embedder.embed(crop);
          expect(v.length).toBe(embedder.dim);
          expect(Math.sqrt(dot(v, v))).toBeCloseTo(1, 5);
          templates.set(p, toTemplate(embedder, v));
        }
        const score = ([a, b]: [string, string]) => {
          const r = compareTemplates(templates.get(a)!, templates.get(b)!);
          if (!r.ok) throw new Error(r.error.message);
          return r.value;
        };
        // MANIFEST: all three separate LFW around cosine 0.24–0.30
        for (const pair of GENUINE) expect(score(pair)).toBeGreaterThan(0.4);
        for (const pair of IMPOSTOR) expect(score(pair)).toBeLessThan(0.25);
      } finally {
        await embedder.close();
      }
    },
  );

  it('the default embedder is the npm-shipped 512-d fr_feature, and templates of two embedders are refused', async () => {
    expect(DEFAULT_EMBEDDER).toBe('faceplugin-fr-feature-512d');
    const a = await createEmbedder();
    const b = await createEmbedder({ model: 'mobilefacenet-128d' });
    try {
      const crop = crops.get(GENUINE[0]![0])!;
      const r = compareTemplates(toTemplate(a, await a.embed(crop)), toTemplate(b, await b.embed(crop)));
      expect(r).toMatchObject({ ok: false, error: { code: 'EMBED_ERR_MODEL_MISMATCH' } });
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});
