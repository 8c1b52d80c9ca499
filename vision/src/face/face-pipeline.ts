import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { ExecutionProvider } from '../onnx-session.js';
import type { FaceDetection, Frame } from '../types.js';
import { alignFace, ALIGNED_FACE_SIZE_PX } from './align.js';
import { createEmbedder, DEFAULT_EMBEDDER, toTemplate, type Embedder, type EmbedderModelId } from './embed.js';
import type { FaceTemplate } from './embed-template.js';
import { createLivenessChecker, type LivenessChecker, type LivenessResult } from './liveness.js';
import { assessQuality, type QualityOptions, type QualityReport } from './quality.js';

/** Per-stage wall time of one `analyse` call, ms. */
export interface FaceStageTimings {
  align: number;
  quality: number;
  liveness: number;
  embed: number;
  total: number;
}

export interface FaceAnalysis {
  quality: QualityReport;
  /** null when liveness is off or was skipped for low quality */
  liveness: LivenessResult | null;
  /** null when the embedding was skipped for low quality */
  template: FaceTemplate | null;
  timingsMs: FaceStageTimings;
}

export interface AnalyseOptions {
  /**
   * skip liveness and embedding when the quality report fails a minimum (saves ~15 ms on a frame
   * the verification would discard anyway); default false
   */
  skipBelowQuality?: boolean;
}

/**
 * The per-face stages after detection: align → quality → liveness → embed. Verification calls it
 * for each frame of a passage and enrolment for each photo. It keeps no image: the aligned crop
 * and every model input are zeroed before `analyse` returns, and nothing is written anywhere.
 */
export interface FacePipeline {
  readonly embedder: Pick<Embedder, 'modelId' | 'sha256' | 'dim' | 'provider'>;
  readonly liveness: Pick<LivenessChecker, 'models' | 'provider' | 'threshold'> | null;
  analyse(frame: Frame, face: FaceDetection, options?: AnalyseOptions): Promise<FaceAnalysis>;
  close(): Promise<void>;
}

export interface FacePipelineDeps {
  embedder: Embedder;
  /** omit to run without liveness */
  liveness?: LivenessChecker | undefined;
  quality?: Partial<QualityOptions> | undefined;
  logger?: Logger | undefined;
}

/** Assemble a pipeline from opened components (tests pass fakes; createFacePipeline opens real models). */
export function createFacePipelineFrom(deps: FacePipelineDeps): FacePipeline {
  const { embedder, liveness, logger } = deps;
  const qualityOptions = deps.quality ?? {};
  const size = ALIGNED_FACE_SIZE_PX;
  // aligned crops are reused rather than allocated per face (a pool: overlapping calls each get one)
  const freeCrops: Uint8Array[] = [];
  return {
    embedder: { modelId: embedder.modelId, sha256: embedder.sha256, dim: embedder.dim, provider: embedder.provider },
    liveness: liveness ? { models: liveness.models, provider: liveness.provider, threshold: liveness.threshold } : null,
    async analyse(frame, face, options = {}) {
      const t0 = performance.now();
      const crop = freeCrops.pop() ?? new Uint8Array(size * size * 3);
      try {
        const aligned = alignFace(frame, face.landmarks, crop);
        const t1 = performance.now();
        const quality = assessQuality(face, aligned, qualityOptions);
        const t2 = performance.now();
        const skip = options.skipBelowQuality === true && !quality.ok;
        const live = liveness && !skip ? await liveness.check(frame, face.box) : null;
        const t3 = performance.now();
        const template = skip ? null : toTemplate(embedder, await embedder.embed(aligned.data));
        const t4 = performance.now();
        const timingsMs = { align: t1 - t0, quality: t2 - t1, liveness: t3 - t2, embed: t4 - t3, total: t4 - t0 };
        logger?.trace({ cameraId: frame.cameraId, seq: frame.seq, ok: quality.ok, timingsMs }, 'face analysed');
        return { quality, liveness: live, template, timingsMs };
      } finally {
        crop.fill(0);
        freeCrops.push(crop);
      }
    },
    async close() {
      await Promise.all([embedder.close(), liveness?.close()]);
    },
  };
}

export interface FacePipelineOptions {
  /** default DEFAULT_EMBEDDER */
  embedder?: EmbedderModelId;
  /** false disables liveness; default on */
  liveness?: boolean;
  livenessThreshold?: number;
  quality?: Partial<QualityOptions>;
  modelsDir?: string;
  npmCacheDir?: string;
  providers?: ExecutionProvider[];
  /** per model session; default 1 */
  intraOpThreads?: number;
  logger?: Logger;
}

/** Open the embedder (and the liveness models) and assemble the pipeline. */
export async function createFacePipeline(opts: FacePipelineOptions = {}): Promise<FacePipeline> {
  const logger = opts.logger?.child({ module: 'face-pipeline' });
  const common = {
    ...(opts.modelsDir !== undefined ? { modelsDir: opts.modelsDir } : {}),
    ...(opts.providers !== undefined ? { providers: opts.providers } : {}),
    ...(opts.intraOpThreads !== undefined ? { intraOpThreads: opts.intraOpThreads } : {}),
    ...(opts.logger !== undefined ? { logger: opts.logger } : {}),
  };
  const embedder = await createEmbedder({
    ...common,
    model: opts.embedder ?? DEFAULT_EMBEDDER,
    ...(opts.npmCacheDir !== undefined ? { npmCacheDir: opts.npmCacheDir } : {}),
  });
  let liveness: LivenessChecker | undefined;
  if (opts.liveness !== false) {
    try {
      liveness = await createLivenessChecker({
        ...common,
        ...(opts.livenessThreshold !== undefined ? { threshold: opts.livenessThreshold } : {}),
      });
    } catch (err) {
      await embedder.close();
      throw err;
    }
  }
  return createFacePipelineFrom({ embedder, liveness, quality: opts.quality, logger });
}
