/** Stable codes for vision failures that cross a module boundary. */
export type VisionErrorCode =
  /** a frame whose buffer does not match width × height × 3 */
  | 'VISION_ERR_BAD_FRAME'
  /** a model returned tensors of an unexpected name, count or size: wrong file or a bug */
  | 'VISION_ERR_BAD_OUTPUT'
  /** an image file or buffer that sharp cannot decode */
  | 'VISION_ERR_IMAGE_DECODE'
  /** detect() after close() */
  | 'VISION_ERR_CLOSED';

export class VisionError extends Error {
  constructor(
    readonly code: VisionErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'VisionError';
  }
}
