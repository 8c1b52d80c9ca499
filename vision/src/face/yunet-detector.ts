import { resolveModel } from '@portail/models';
import type { Logger } from 'pino';
import { openOnnxSession, type ExecutionProvider } from '../onnx-session.js';
import { createDetectorRuntime, describeInput, outputData } from '../detector-runtime.js';
import { createPreprocessor, planPadToMultiple, planToBoxMap } from '../preprocess.js';
import type { Detector, FaceDetection } from '../types.js';
import { decodeYunet, YUNET_STRIDES } from './yunet-decode.js';

export const YUNET_MODEL = 'yunet-2023mar-dynamic';

export interface YunetDetectorOptions {
  /** folder holding the .onnx files (default: PORTAIL_MODELS_DIR, then ../shared/models) */
  modelsDir?: string;
  /** tried in order, cpu last (default ['cpu']) */
  providers?: ExecutionProvider[];
  /** threads per operator (default 1: the edge box has 2 cores for everything) */
  intraOpThreads?: number;
  /** default 0.6 (OpenCV uses 0.9 on stills; frames at the gate are softer) */
  scoreThreshold?: number;
  /** default 0.3, as OpenCV FaceDetectorYN */
  nmsIou?: number;
  /**
   * Longer side above which a frame is downscaled before detection (default 640). YuNet is trained
   * for faces of about 10–300 px, and a smaller input is faster; coordinates are mapped back.
   */
  maxInputSide?: number;
  logger?: Logger;
}

/**
 * YuNet face detector (dynamic-shape export): the frame, downscaled if its longer side exceeds
 * maxInputSide, is zero-padded bottom/right to multiples of 32 and fed as BGR 0..255 NCHW.
 * Returns faces in frame pixels with 5 landmarks, best first.
 */
export async function createYunetDetector(opts: YunetDetectorOptions = {}): Promise<Detector<FaceDetection>> {
  const scoreThreshold = opts.scoreThreshold ?? 0.6;
  const nmsIou = opts.nmsIou ?? 0.3;
  const maxInputSide = opts.maxInputSide ?? 640;
  const logger = opts.logger?.child({ module: 'yunet' });
  const model = await resolveModel(YUNET_MODEL, { modelsDir: opts.modelsDir });
  const { session, provider } = await openOnnxSession(model.path, {
    providers: opts.providers ?? ['cpu'],
    intraOpThreads: opts.intraOpThreads ?? 1,
    logger,
  });
  const input = describeInput(session);
  const multiple = YUNET_STRIDES[YUNET_STRIDES.length - 1]!;
  const runtime = createDetectorRuntime({
    session,
    inputName: input.name,
    preprocessor: createPreprocessor((w, h) => planPadToMultiple(w, h, multiple, maxInputSide), { padValue: 0 }),
    modelName: YUNET_MODEL,
    logger,
  });
  logger?.info({ model: YUNET_MODEL, provider, sha256: model.sha256 }, 'face detector ready');

  return {
    modelName: YUNET_MODEL,
    sha256: model.sha256,
    provider,
    detect: (frame) =>
      runtime.run(frame, (outputs, plan) => {
        const tensors: Record<string, Float32Array> = {};
        for (const name of session.outputNames) tensors[name] = outputData(outputs, name, YUNET_MODEL);
        return decodeYunet(tensors, plan.dstWidth, plan.dstHeight, {
          scoreThreshold,
          nmsIou,
          map: planToBoxMap(plan),
        });
      }),
    close: () => runtime.close(),
    stats: () => runtime.stats(),
  };
}
