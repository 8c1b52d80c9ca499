import type { ModelEntry } from '@portail/models';
import { VisionError } from './vision-error.js';

/**
 * The fixed input H×W of a model: from the session's metadata when the export declares numbers,
 * else from the manifest's `input.shape` [N, C, H, W]. When both declare it they must agree, since
 * a mismatch means the manifest describes another file.
 */
export function modelInputSize(
  entry: ModelEntry,
  fromSession: { height?: number; width?: number },
): { height: number; width: number } {
  const shape = Array.isArray(entry.input.shape) ? (entry.input.shape as unknown[]) : [];
  const mh = typeof shape[2] === 'number' ? shape[2] : undefined;
  const mw = typeof shape[3] === 'number' ? shape[3] : undefined;
  const height = fromSession.height ?? mh;
  const width = fromSession.width ?? mw;
  if (height === undefined || width === undefined) {
    throw new VisionError('VISION_ERR_BAD_OUTPUT', `${entry.name}: neither the model nor the manifest gives a fixed input size`);
  }
  if ((mh !== undefined && mh !== height) || (mw !== undefined && mw !== width)) {
    throw new VisionError(
      'VISION_ERR_BAD_OUTPUT',
      `${entry.name}: the model's input is ${width}×${height} but the manifest says ${mw}×${mh}`,
    );
  }
  return { height, width };
}
