import { resolveModel } from '@portail/models';
import type { Logger } from 'pino';
import { openOnnxSession, ort, type ExecutionProvider } from '../onnx-session.js';
import { VisionError } from '../vision-error.js';
import { ALIGNED_FACE_SIZE_PX } from './align.js';
import { l2NormaliseInPlace, type FaceTemplate } from './embed-template.js';

/** Input conventions of one embedder (models/manifest.json and shared/models/MANIFEST.md §2). */
export interface EmbedderSpec {
  modelId: EmbedderModelId;
  dim: number;
  channelOrder: 'rgb' | 'bgr';
  /** per channel, in the model's channel order */
  mean: number;
  std: number;
}

export type EmbedderModelId = 'faceplugin-fr-feature-512d' | 'mobilefacenet-128d' | 'mobilefacenet-paddle-128d';

export const EMBEDDER_SPECS: Readonly<Record<EmbedderModelId, EmbedderSpec>> = Object.freeze({
  // npm faceplugin-face-recognition-js lib/fr_feature.js: RGB, (x − 127) / 128
  'faceplugin-fr-feature-512d': {
    modelId: 'faceplugin-fr-feature-512d',
    dim: 512,
    channelOrder: 'rgb',
    mean: 127,
    std: 128,
  },
  'mobilefacenet-128d': { modelId: 'mobilefacenet-128d', dim: 128, channelOrder: 'rgb', mean: 127.5, std: 128 },
  'mobilefacenet-paddle-128d': {
    modelId: 'mobilefacenet-paddle-128d',
    dim: 128,
    channelOrder: 'rgb',
    mean: 127.5,
    std: 127.5,
  },
});

/**
 * The default is the only candidate whose licence text permits product use (MIT on paper, with
 * undocumented weights: see models/manifest.json); the two MobileFaceNets are for evaluation.
 */
export const DEFAULT_EMBEDDER: EmbedderModelId = 'faceplugin-fr-feature-512d';

export function isEmbedderModelId(id: string): id is EmbedderModelId {
  return Object.hasOwn(EMBEDDER_SPECS, id);
}

export interface Embedder {
  readonly modelId: string;
  readonly sha256: string;
  readonly dim: number;
  /** execution provider the session runs on */
  readonly provider: string;
  /** 112×112 BGR24 aligned crop → L2-normalised embedding of length `dim` */
  embed(aligned112Bgr: Uint8Array): Promise<Float32Array>;
  close(): Promise<void>;
}

/** Wrap an embedding as a template that names its model. */
export function toTemplate(embedder: Pick<Embedder, 'modelId' | 'sha256' | 'dim'>, vector: Float32Array): FaceTemplate {
  return { modelId: embedder.modelId, sha256: embedder.sha256, dim: embedder.dim, vector };
}

/** byte value → (v − mean) / std as float32, for the last (mean, std) asked (rebuilt on a change) */
let lut = { mean: NaN, std: NaN, table: new Float32Array(256) };

function normaliseTable(mean: number, std: number): Float32Array {
  if (lut.mean !== mean || lut.std !== std) {
    const table = new Float32Array(256);
    const inv = 1 / std;
    for (let v = 0; v < 256; v++) table[v] = (v - mean) * inv;
    lut = { mean, std, table };
  }
  return lut.table;
}

/**
 * Packed BGR24 crop → NCHW float32 in the model's channel order, (x − mean) / std, in one pass over
 * the pixels. The normalisation is a 256-entry table holding exactly the float32 of (x − mean)·(1/std).
 */
export function embedderInput(
  bgr: Uint8Array,
  spec: Pick<EmbedderSpec, 'channelOrder' | 'mean' | 'std'>,
  size = ALIGNED_FACE_SIZE_PX,
  out: Float32Array = new Float32Array(3 * size * size),
): Float32Array {
  const plane = size * size;
  if (bgr.length !== plane * 3) {
    throw new VisionError('VISION_ERR_BAD_FRAME', `aligned crop has ${bgr.length} bytes, expected ${plane * 3}`);
  }
  const t = normaliseTable(spec.mean, spec.std);
  // plane of the tensor that takes each BGR byte
  const pb = spec.channelOrder === 'rgb' ? 2 * plane : 0;
  const pr = spec.channelOrder === 'rgb' ? 0 : 2 * plane;
  for (let i = 0, s = 0; i < plane; i++, s += 3) {
    out[pb + i] = t[bgr[s]!]!;
    out[plane + i] = t[bgr[s + 1]!]!;
    out[pr + i] = t[bgr[s + 2]!]!;
  }
  return out;
}

export interface EmbedderOptions {
  /** default DEFAULT_EMBEDDER */
  model?: EmbedderModelId;
  modelsDir?: string;
  npmCacheDir?: string;
  providers?: ExecutionProvider[];
  /** default 1: the edge box has 2 cores for everything */
  intraOpThreads?: number;
  logger?: Logger;
}

/** Open an embedder by manifest name; the file is found and its sha256 checked by resolveModel. */
export async function createEmbedder(opts: EmbedderOptions = {}): Promise<Embedder> {
  const spec = EMBEDDER_SPECS[opts.model ?? DEFAULT_EMBEDDER];
  const logger = opts.logger?.child({ module: 'embedder' });
  const model = await resolveModel(spec.modelId, { modelsDir: opts.modelsDir, npmCacheDir: opts.npmCacheDir });
  const { session, provider } = await openOnnxSession(model.path, {
    providers: opts.providers ?? ['cpu'],
    intraOpThreads: opts.intraOpThreads ?? 1,
    logger,
  });
  const inputName = session.inputNames[0]!;
  const outputName = session.outputNames[0]!;
  const size = ALIGNED_FACE_SIZE_PX;
  // inputs are reused rather than allocated per face; a pool, since overlapping `embed` calls must
  // not share one
  const free: Float32Array[] = [];
  let closed = false;
  logger?.info({ model: spec.modelId, provider, sha256: model.sha256, dim: spec.dim }, 'face embedder ready');

  return {
    modelId: spec.modelId,
    sha256: model.sha256,
    dim: spec.dim,
    provider,
    async embed(aligned112Bgr) {
      if (closed) throw new VisionError('VISION_ERR_CLOSED', `${spec.modelId} embedder is closed`);
      const input = free.pop() ?? new Float32Array(3 * size * size);
      try {
        embedderInput(aligned112Bgr, spec, size, input);
        const outputs = await session.run({ [inputName]: new ort.Tensor('float32', input, [1, 3, size, size]) });
        const raw = outputs[outputName]?.data;
        if (!(raw instanceof Float32Array) || raw.length !== spec.dim) {
          throw new VisionError(
            'VISION_ERR_BAD_OUTPUT',
            `${spec.modelId} returned no ${spec.dim}-d float32 "${outputName}"`,
          );
        }
        return l2NormaliseInPlace(Float32Array.from(raw));
      } finally {
        // the normalised crop is face data: zeroed before it goes back to the pool
        input.fill(0);
        free.push(input);
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      await session.release();
    },
  };
}
