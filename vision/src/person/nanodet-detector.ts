import { resolveModel } from '@portail/models';
import type { Logger } from 'pino';
import { openOnnxSession, type ExecutionProvider } from '../onnx-session.js';
import { createDetectorRuntime, describeInput, outputData } from '../detector-runtime.js';
import { modelInputSize } from '../model-input-size.js';
import { createPreprocessor, planLetterbox, planToBoxMap } from '../preprocess.js';
import type { Detector, PersonDetection } from '../types.js';
import { decodeNanodet, type RawTensor } from './nanodet-decode.js';

export const NANODET_MODEL = 'nanodet-m-320';

export interface NanodetDetectorOptions {
  modelsDir?: string;
  /** tried in order, cpu last (default ['cpu']) */
  providers?: ExecutionProvider[];
  /** threads per operator (default 1) */
  intraOpThreads?: number;
  /** default 0.35 (the manifest suggests 0.3–0.4) */
  scoreThreshold?: number;
  /** default 0.45 */
  nmsIou?: number;
  logger?: Logger;
}

/** NanoDet's ImageNet statistics in BGR order, on 0..255 pixels. */
const NANODET_MEAN = [103.53, 116.28, 123.675] as const;
const NANODET_STD = [57.375, 57.12, 58.395] as const;

/**
 * NanoDet-m 320 person detector, the faster alternative to YOLOX-Nano behind the same interface:
 * centred letterbox with black padding, BGR normalised by NanoDet's mean/std, GFL decoding.
 */
export async function createNanodetDetector(opts: NanodetDetectorOptions = {}): Promise<Detector<PersonDetection>> {
  const scoreThreshold = opts.scoreThreshold ?? 0.35;
  const nmsIou = opts.nmsIou ?? 0.45;
  const logger = opts.logger?.child({ module: 'nanodet', model: NANODET_MODEL });
  const model = await resolveModel(NANODET_MODEL, { modelsDir: opts.modelsDir });
  const { session, provider } = await openOnnxSession(model.path, {
    providers: opts.providers ?? ['cpu'],
    intraOpThreads: opts.intraOpThreads ?? 1,
    logger,
  });
  const input = describeInput(session);
  const size = modelInputSize(model.entry, input);
  const runtime = createDetectorRuntime({
    session,
    inputName: input.name,
    preprocessor: createPreprocessor((w, h) => planLetterbox(w, h, size.width, size.height, 'centre'), {
      mean: NANODET_MEAN,
      std: NANODET_STD,
      padValue: 0,
    }),
    modelName: NANODET_MODEL,
    logger,
  });
  logger?.info({ provider, sha256: model.sha256, inputWidth: size.width, inputHeight: size.height }, 'person detector ready');

  return {
    modelName: NANODET_MODEL,
    sha256: model.sha256,
    provider,
    detect: (frame) =>
      runtime.run(frame, (outputs, plan) => {
        const tensors: RawTensor[] = session.outputNames.map((name) => {
          const data = outputData(outputs, name, NANODET_MODEL);
          return { dims: outputs[name]!.dims, data };
        });
        return decodeNanodet(tensors, plan.dstWidth, plan.dstHeight, {
          scoreThreshold,
          nmsIou,
          map: planToBoxMap(plan),
          clip: { width: frame.width, height: frame.height },
        });
      }),
    close: () => runtime.close(),
    stats: () => runtime.stats(),
  };
}
