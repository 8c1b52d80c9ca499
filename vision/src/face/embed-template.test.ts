import { describe, expect, it } from 'vitest';
import {
  compareTemplates,
  dequantiseTemplate,
  dot,
  l2NormaliseInPlace,
  quantiseTemplate,
  type FaceTemplate,
} from './embed-template.js';
import { embedderInput, EMBEDDER_SPECS, isEmbedderModelId, toTemplate } from './embed.js';

function unitVector(dim: number, seed: number): Float32Array {
  let s = seed;
  const v = Float32Array.from({ length: dim }, () => {
    s = (s * 16807) % 2147483647;
    return s / 2147483647 - 0.5;
  });
  return l2NormaliseInPlace(v);
}

const tpl = (vector: Float32Array, modelId = 'faceplugin-fr-feature-512d', sha256 = 'a'.repeat(64)): FaceTemplate => ({
  modelId,
  sha256,
  dim: vector.length,
  vector,
});

describe('compareTemplates', () => {
  it('returns the cosine for templates of the same model', () => {
    const a = unitVector(512, 12345);
    const r = compareTemplates(tpl(a), tpl(Float32Array.from(a)));
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.value).toBeCloseTo(1, 5);
    const b = unitVector(512, 987654);
    const r2 = compareTemplates(tpl(a), tpl(b));
    if (!r2.ok) throw new Error('expected ok');
    expect(r2.value).toBeCloseTo(dot(a, b), 6);
    expect(Math.abs(r2.value)).toBeLessThan(0.3);
  });

  it('refuses templates of different models, and of two files under one model name', () => {
    const a = unitVector(128, 3);
    const byId = compareTemplates(tpl(a, 'mobilefacenet-128d'), tpl(a, 'mobilefacenet-paddle-128d'));
    expect(byId).toMatchObject({ ok: false, error: { code: 'EMBED_ERR_MODEL_MISMATCH' } });
    const byFile = compareTemplates(
      tpl(a, 'mobilefacenet-128d', 'a'.repeat(64)),
      tpl(a, 'mobilefacenet-128d', 'b'.repeat(64)),
    );
    expect(byFile).toMatchObject({ ok: false, error: { code: 'EMBED_ERR_MODEL_MISMATCH' } });
  });

  it('refuses a template whose vector length disagrees with its dim', () => {
    const r = compareTemplates(tpl(unitVector(128, 4)), { ...tpl(unitVector(128, 5)), dim: 512 });
    expect(r).toMatchObject({ ok: false, error: { code: 'EMBED_ERR_DIM_MISMATCH' } });
  });

  it('toTemplate copies the model identity from the embedder', () => {
    const t = toTemplate({ modelId: 'mobilefacenet-128d', sha256: 'c'.repeat(64), dim: 128 }, unitVector(128, 6));
    expect(t).toMatchObject({ modelId: 'mobilefacenet-128d', sha256: 'c'.repeat(64), dim: 128 });
  });
});

describe('int8 templates', () => {
  it('round-trips with a cosine error far below the gap between genuine and impostor scores', () => {
    for (let seed = 10; seed < 30; seed++) {
      const a = tpl(unitVector(512, seed));
      const b = tpl(unitVector(512, seed * 7919 + 104729));
      const qa = quantiseTemplate(a);
      expect(qa.data).toBeInstanceOf(Int8Array);
      expect(Math.max(...Array.from(qa.data, Math.abs))).toBe(127);
      const back = dequantiseTemplate(qa);
      expect(dot(back.vector, a.vector)).toBeGreaterThan(0.9995);
      const exact = dot(a.vector, b.vector);
      const approx = dot(back.vector, dequantiseTemplate(quantiseTemplate(b)).vector);
      expect(Math.abs(exact - approx)).toBeLessThan(0.005);
      expect(back).toMatchObject({ modelId: a.modelId, sha256: a.sha256, dim: 512 });
    }
  });

  it('keeps a zero vector at zero', () => {
    const z = dequantiseTemplate(quantiseTemplate(tpl(new Float32Array(8))));
    expect(Array.from(z.vector)).toEqual(new Array(8).fill(0));
  });
});

describe('embedderInput', () => {
  it('writes NCHW planes in RGB order with (x − mean) / std', () => {
    const size = 2;
    // 4 pixels, BGR: (10,20,30) (40,50,60) (70,80,90) (100,110,120)
    const bgr = Uint8Array.from([10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120]);
    const t = embedderInput(bgr, { channelOrder: 'rgb', mean: 127, std: 128 }, size);
    const f = (x: number) => (x - 127) / 128;
    expect(Array.from(t)).toEqual(
      [30, 60, 90, 120, 20, 50, 80, 110, 10, 40, 70, 100].map(f).map((x) => Math.fround(x)),
    );
    const tb = embedderInput(bgr, { channelOrder: 'bgr', mean: 0, std: 1 }, size);
    expect(Array.from(tb)).toEqual([10, 40, 70, 100, 20, 50, 80, 110, 30, 60, 90, 120]);
  });

  it('rejects a crop of the wrong size', () => {
    expect(() => embedderInput(new Uint8Array(10), EMBEDDER_SPECS['mobilefacenet-128d'])).toThrow(/expected 37632/);
  });

  it('knows the three MANIFEST candidates and their conventions', () => {
    expect(EMBEDDER_SPECS['faceplugin-fr-feature-512d']).toMatchObject({
      dim: 512,
      channelOrder: 'rgb',
      mean: 127,
      std: 128,
    });
    expect(EMBEDDER_SPECS['mobilefacenet-128d']).toMatchObject({ dim: 128, mean: 127.5, std: 128 });
    expect(EMBEDDER_SPECS['mobilefacenet-paddle-128d']).toMatchObject({ dim: 128, mean: 127.5, std: 127.5 });
    expect(isEmbedderModelId('mobilefacenet-128d')).toBe(true);
    expect(isEmbedderModelId('toString')).toBe(false);
  });
});
