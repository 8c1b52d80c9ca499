import { resolveModel } from '@portail/models';
import type { Logger } from 'pino';
import { openOnnxSession, type ExecutionProvider } from '../onnx-session.js';
import { createDetectorRuntime, describeInput, outputData } from '../detector-runtime.js';
import { modelInputSize } from '../model-input-size.js';
import { createPreprocessor, planLetterbox, planToBoxMap } from '../preprocess.js';
import type { Detector, PersonDetection } from '../types.js';
import { decodeYolox } from './yolox-decode.js';

export type YoloxModelName = 'yolox-nano-416' | 'yolox-nano-480x640';

export interface YoloxDetectorOptions {
  /** default 'yolox-nano-416' (the 480×640 export is evaluation-only, see the manifest) */
  model?: YoloxModelName;
  modelsDir?: string;
  /** tried in order, cpu last (default ['cpu']) */
  providers?: ExecutionProvider[];
  /** threads per operator (default 1) */
  intraOpThreads?: number;
  /** default 0.3 (the YOLOX demo); a tracker's low-score pass wants 0.1 */
  scoreThreshold?: number;
  /** default 0.45 */
  nmsIou?: number;
  logger?: Logger;
}

/** The letterbox padding YOLOX was trained with. */
const YOLOX_PAD_VALUE = 114;

/**
 * YOLOX-Nano person detector: top-left letterbox to the model's fixed input (pad 114), BGR raw
 * 0..255, boxes mapped back to frame pixels and clipped to the frame, best first.
 */
export async function createYoloxDetector(opts: YoloxDetectorOptions = {}): Promise<Detector<PersonDetection>> {
  const modelName = opts.model ?? 'yolox-nano-416';
  const scoreThreshold = opts.scoreThreshold ?? 0.3;
  const nmsIou = opts.nmsIou ?? 0.45;
  const logger = opts.logger?.child({ module: 'yolox', model: modelName });
  const model = await resolveModel(modelName, { modelsDir: opts.modelsDir });
  const { session, provider } = await openOnnxSession(model.path, {
    providers: opts.providers ?? ['cpu'],
    intraOpThreads: opts.intraOpThreads ?? 1,
    logger,
  });
  const input = describeInput(session);
  const size = modelInputSize(model.entry, input);
  const outputName = session.outputNames[0] ?? 'output';
  const runtime = createDetectorRuntime({
    session,
    inputName: input.name,
    preprocessor: createPreprocessor((w, h) => planLetterbox(w, h, size.width, size.height, 'top-left'), {
      padValue: YOLOX_PAD_VALUE,
    }),
    modelName,
    logger,
  });
  logger?.info({ provider, sha256: model.sha256, inputWidth: size.width, inputHeight: size.height }, 'person detector ready');

  return {
    modelName,
    sha256: model.sha256,
    provider,
    detect: (frame) =>
      runtime.run(frame, (outputs, plan) =>
        decodeYolox(outputData(outputs, outputName, modelName), plan.dstWidth, plan.dstHeight, {
          scoreThreshold,
          nmsIou,
          map: planToBoxMap(plan),
          clip: { width: frame.width, height: frame.height },
        }),
      ),
    close: () => runtime.close(),
    stats: () => runtime.stats(),
  };
}
