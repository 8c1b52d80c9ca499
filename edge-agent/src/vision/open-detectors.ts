import type { Logger } from 'pino';
import type { AgentDetectors } from '../agent.js';
import type { AgentFileConfig } from '../config/schema.js';
import { createYunetDetector } from '@portail/vision/face/yunet-detector.js';
import { createYoloxDetector } from '@portail/vision/person/yolox-detector.js';

/** Open the detectors the configuration asks for; a missing model fails here with a clear message. */
export async function openDetectors(config: AgentFileConfig, logger: Logger): Promise<AgentDetectors> {
  const common = {
    providers: config.vision.providers,
    intraOpThreads: config.vision.intraOpThreads,
    logger,
    ...(config.modelsDir ? { modelsDir: config.modelsDir } : {}),
  };
  const needsFace = config.vision.face.enabled && config.cameras.some((c) => c.role !== 'tracking');
  const needsPerson = config.vision.person.enabled && config.cameras.some((c) => c.role !== 'gate');
  const [face, person] = await Promise.all([
    needsFace ? createYunetDetector({ ...common, scoreThreshold: config.vision.face.scoreThreshold }) : undefined,
    needsPerson
      ? createYoloxDetector({ ...common, model: config.vision.person.model, scoreThreshold: config.vision.person.scoreThreshold })
      : undefined,
  ]);
  return { face, person };
}
