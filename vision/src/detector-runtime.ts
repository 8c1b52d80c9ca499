import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { ort } from './onnx-session.js';
import type { Preprocessor, ResizePlan } from './preprocess.js';
import type { DetectorStats, Frame } from './types.js';
import { VisionError } from './vision-error.js';

/**
 * The part every ONNX detector shares: run one frame through preprocess → session.run → decode,
 * time the stages, count, and keep runs one at a time (the preprocessor's buffer is reused, so two
 * overlapping runs on one detector would overwrite each other's input).
 */
export interface DetectorRuntime {
  run<D>(frame: Frame, decode: (outputs: ort.InferenceSession.ReturnType, plan: ResizePlan) => D[]): Promise<D[]>;
  stats(): DetectorStats;
  close(): Promise<void>;
}

export function createDetectorRuntime(deps: {
  session: ort.InferenceSession;
  inputName: string;
  preprocessor: Preprocessor;
  modelName: string;
  logger?: Logger | undefined;
}): DetectorRuntime {
  const { session, inputName, preprocessor, modelName, logger } = deps;
  const counters: DetectorStats = { framesRun: 0, detections: 0, lastInferenceMs: 0, lastPreprocessMs: 0 };
  let queue: Promise<unknown> = Promise.resolve();
  let closed = false;

  const runOne = async <D>(
    frame: Frame,
    decode: (outputs: ort.InferenceSession.ReturnType, plan: ResizePlan) => D[],
  ): Promise<D[]> => {
    if (closed) throw new VisionError('VISION_ERR_CLOSED', `${modelName} detector is closed`);
    const t0 = performance.now();
    const { data, plan } = preprocessor.run(frame);
    const t1 = performance.now();
    const input = new ort.Tensor('float32', data, [1, 3, plan.dstHeight, plan.dstWidth]);
    const outputs = await session.run({ [inputName]: input });
    const t2 = performance.now();
    const found = decode(outputs, plan);
    counters.framesRun += 1;
    counters.detections += found.length;
    counters.lastPreprocessMs = t1 - t0;
    counters.lastInferenceMs = t2 - t1;
    logger?.trace(
      { cameraId: frame.cameraId, seq: frame.seq, found: found.length, preMs: t1 - t0, inferMs: t2 - t1 },
      'frame detected',
    );
    return found;
  };

  return {
    run<D>(frame: Frame, decode: (outputs: ort.InferenceSession.ReturnType, plan: ResizePlan) => D[]) {
      const result = queue.then(() => runOne(frame, decode));
      // the queue only orders runs; each caller gets its own result or rejection
      queue = result.catch(() => undefined);
      return result;
    },
    stats: () => ({ ...counters }),
    async close() {
      if (closed) return;
      closed = true;
      await queue;
      await session.release();
    },
  };
}

/** Float32 data of a named output, or a clear error when the model did not return it. */
export function outputData(outputs: ort.InferenceSession.ReturnType, name: string, modelName: string): Float32Array {
  const t = outputs[name];
  if (!t || !(t.data instanceof Float32Array)) {
    throw new VisionError('VISION_ERR_BAD_OUTPUT', `${modelName} did not return a float32 output "${name}"`);
  }
  return t.data;
}

/** The input tensor's name and, when the model declares them as numbers, its fixed H and W. */
export function describeInput(session: ort.InferenceSession): { name: string; height?: number; width?: number } {
  const meta = session.inputMetadata[0];
  const name = meta?.name ?? session.inputNames[0];
  if (!name) throw new VisionError('VISION_ERR_BAD_OUTPUT', 'model has no input');
  if (!meta?.isTensor) return { name };
  const [, , h, w] = meta.shape;
  return {
    name,
    ...(typeof h === 'number' ? { height: h } : {}),
    ...(typeof w === 'number' ? { width: w } : {}),
  };
}
