import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ModelError, resolveModel } from './resolve.js';
import { loadManifest } from './manifest.js';

describe('resolveModel', () => {
  it('finds the YuNet and YOLOX-Nano files in the configured models dir and checks their sha256', async () => {
    for (const name of ['yunet-2023mar-dynamic', 'yolox-nano-416']) {
      const m = await resolveModel(name);
      expect(m.sha256).toBe(m.entry.sha256);
      expect(m.path.endsWith(m.entry.file)).toBe(true);
    }
  });

  it('fails with a message naming the missing file and where it looked', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'portail-models-'));
    const err = await resolveModel('yunet-2023mar-dynamic', { modelsDir: empty }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelError);
    expect((err as ModelError).code).toBe('MODEL_ERR_NOT_FOUND');
    expect((err as Error).message).toContain('face_detection_yunet_2023mar_dynamic.onnx');
    expect((err as Error).message).toContain(empty);
  });

  it('rejects an unknown model name, listing the known ones', async () => {
    await expect(resolveModel('nope')).rejects.toThrow(/unknown model "nope".*yunet-2023mar-dynamic/);
  });

  it('every manifest entry states its licence and whether the product may use it', () => {
    for (const m of loadManifest()) {
      expect(m.licence.length).toBeGreaterThan(3);
      expect(['product', 'evaluation']).toContain(m.use);
      expect(m.sha256).toMatch(/^[0-9a-f]{64}$/);
    }
  });
});
