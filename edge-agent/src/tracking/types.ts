import type { Box } from '@portail/vision/types.js';

/** What the tracker consumes: a person box and its detector score in [0, 1]. */
export interface TrackerDetection {
  readonly box: Box;
  readonly score: number;
}

/**
 * - tentative: born from a detection, not yet seen often enough to be shown or to trigger a rule
 * - confirmed: tracked and matched at this step
 * - lost: confirmed before, unmatched now; kept (predicted) for a while so it can be found again
 * - removed: reported once, the step the track is dropped
 */
export type TrackStatus = 'tentative' | 'confirmed' | 'lost' | 'removed';

/** One entry per track at each step. Anonymous: a random id, a box, nothing about appearance. */
export interface TrackUpdate {
  readonly trackId: string;
  readonly status: TrackStatus;
  /** a detection was associated with the track at this step */
  readonly detected: boolean;
  /** filtered box when detected, the prediction otherwise */
  readonly box: Box;
  /** score of the last associated detection */
  readonly score: number;
  /** detections associated since the track was born */
  readonly hits: number;
  readonly firstSeenMs: number;
  readonly lastSeenMs: number;
}
