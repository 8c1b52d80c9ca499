/**
 * Multi-object tracker after ByteTrack (Zhang et al., ECCV 2022) on a SORT-style motion model
 * (Bewley et al., ICIP 2016): a Kalman filter per track, IoU association solved optimally, and
 * ByteTrack's idea of associating every detection box, the low-score ones included, in two stages.
 *
 * Per step:
 *  1. predict every track to the new time;
 *  2. high-score detections against confirmed and lost tracks (IoU ≥ matchIou);
 *  3. low-score detections against the confirmed tracks still unmatched (IoU ≥ lowMatchIou): an
 *     occluded person often keeps a weak box, which rescues the track instead of losing it;
 *  4. the remaining high-score detections against tentative tracks (IoU ≥ tentativeMatchIou);
 *  5. unmatched confirmed tracks become lost, unmatched tentative tracks are dropped, lost tracks
 *     older than maxLostMs are dropped, and remaining detections with score ≥ newTrackScore start
 *     tentative tracks.
 *
 * `updateTracks` is pure apart from drawing random ids: it never mutates its input state.
 */
import type { Box } from '@portail/vision/types.js';
import { assignWithGate } from './assignment.js';
import { iouCostMatrix } from './iou.js';
import {
  DEFAULT_KALMAN_BOX_NOISE,
  initiateKalmanBox,
  kalmanBoxToBox,
  predictKalmanBox,
  updateKalmanBox,
  type KalmanBoxNoise,
  type KalmanBoxState,
} from './kalman-box.js';
import { newTrackId as randomTrackId } from './track-id.js';
import type { TrackerDetection, TrackStatus, TrackUpdate } from './types.js';

export interface ByteTrackerConfig {
  /** detections with score ≥ this go to the first association stage */
  highScore: number;
  /** detections with lowScore ≤ score < highScore only rescue confirmed tracks (second stage); below: ignored */
  lowScore: number;
  /** an unmatched detection starts a track only with score ≥ this */
  newTrackScore: number;
  /** minimum IoU between a predicted track box and a high-score detection (first stage) */
  matchIou: number;
  /** minimum IoU for a low-score detection (second stage): stricter, weak boxes are less reliable */
  lowMatchIou: number;
  /** minimum IoU between a tentative track and a detection */
  tentativeMatchIou: number;
  /** detections needed before a track is confirmed (shown, and seen by the rules) */
  minHitsToConfirm: number;
  /** how long a lost track is kept for re-identification by position */
  maxLostMs: number;
  /** the frame period the motion noise is expressed in (DeepSORT's heuristics are per frame at 25-30 fps) */
  nominalFrameMs: number;
}

/**
 * ByteTrack's published settings: τ_high 0.6, τ_low 0.1, track start ε 0.7, IoU gates 0.2 / 0.5 /
 * 0.3, lost tracks kept 30 frames (1 s), confirmation on the second hit. A sweep on TUD-Campus of
 * the three knobs that matter there (matchIou 0.1-0.4, maxLostMs 500-2000, minHitsToConfirm 1-3;
 * its detections all score ~0.99, so the score thresholds do nothing on it) found no better
 * setting, so they are kept: a lower matchIou links neighbours wrongly, a higher one loses fast
 * walkers; confirming on the first hit shows every false detection, on the third loses more
 * frames than it saves.
 */
export const DEFAULT_BYTE_TRACKER_CONFIG: Readonly<ByteTrackerConfig> = Object.freeze({
  highScore: 0.6,
  lowScore: 0.1,
  newTrackScore: 0.7,
  matchIou: 0.2,
  lowMatchIou: 0.5,
  tentativeMatchIou: 0.3,
  minHitsToConfirm: 2,
  maxLostMs: 1000,
  nominalFrameMs: 40,
});

export class TrackerError extends Error {
  constructor(
    readonly code: 'TRACKING_ERR_CONFIG' | 'TRACKING_ERR_TIME_BACKWARDS',
    message: string,
  ) {
    super(message);
    this.name = 'TrackerError';
  }
}

interface Track {
  readonly id: string;
  readonly status: Exclude<TrackStatus, 'removed'>;
  readonly kf: KalmanBoxState;
  readonly box: Box;
  readonly score: number;
  readonly hits: number;
  readonly firstSeenMs: number;
  readonly lastSeenMs: number;
}

export interface ByteTrackerState {
  readonly config: Readonly<ByteTrackerConfig>;
  readonly noise: Readonly<KalmanBoxNoise>;
  readonly tracks: readonly Track[];
  /** time of the last update, null before the first */
  readonly lastMs: number | null;
  readonly newTrackId: () => string;
}

export interface TrackerStateOptions {
  /** id source, for tests; defaults to random ids */
  newTrackId?: () => string;
  noise?: KalmanBoxNoise;
}

function validateConfig(c: ByteTrackerConfig): void {
  const problems: string[] = [];
  const unit = (k: keyof ByteTrackerConfig) => {
    const v = c[k];
    if (!(Number.isFinite(v) && v >= 0 && v <= 1)) problems.push(`${k} must be in [0, 1], got ${v}`);
  };
  unit('highScore');
  unit('lowScore');
  unit('newTrackScore');
  unit('matchIou');
  unit('lowMatchIou');
  unit('tentativeMatchIou');
  if (c.lowScore > c.highScore) problems.push('lowScore must be ≤ highScore');
  if (!(Number.isInteger(c.minHitsToConfirm) && c.minHitsToConfirm >= 1)) {
    problems.push(`minHitsToConfirm must be an integer ≥ 1, got ${c.minHitsToConfirm}`);
  }
  if (!(Number.isFinite(c.maxLostMs) && c.maxLostMs >= 0)) problems.push(`maxLostMs must be ≥ 0, got ${c.maxLostMs}`);
  if (!(Number.isFinite(c.nominalFrameMs) && c.nominalFrameMs > 0)) {
    problems.push(`nominalFrameMs must be > 0, got ${c.nominalFrameMs}`);
  }
  if (problems.length > 0) throw new TrackerError('TRACKING_ERR_CONFIG', problems.join('; '));
}

export function createTrackerState(
  config: Partial<ByteTrackerConfig> = {},
  options: TrackerStateOptions = {},
): ByteTrackerState {
  const full: ByteTrackerConfig = { ...DEFAULT_BYTE_TRACKER_CONFIG, ...config };
  validateConfig(full);
  return {
    config: Object.freeze(full),
    noise: options.noise ?? DEFAULT_KALMAN_BOX_NOISE,
    tracks: [],
    lastMs: null,
    newTrackId: options.newTrackId ?? randomTrackId,
  };
}

/**
 * Optimal IoU association of `trackIdx` (into `trackBoxes`) with the unused detections of `detIdx`;
 * records pairs in `trackToDet` and marks detections in `detUsed`.
 */
function associate(
  trackIdx: readonly number[],
  trackBoxes: readonly Box[],
  detIdx: readonly number[],
  detections: readonly TrackerDetection[],
  minIou: number,
  trackToDet: Int32Array,
  detUsed: Uint8Array,
): void {
  const freeDets = detIdx.filter((d) => !detUsed[d]);
  if (trackIdx.length === 0 || freeDets.length === 0) return;
  const cost = iouCostMatrix(
    trackIdx.map((t) => trackBoxes[t]!),
    freeDets.map((d) => detections[d]!.box),
  );
  const { rowToCol } = assignWithGate({ rows: trackIdx.length, cols: freeDets.length, cost }, 1 - minIou);
  for (let r = 0; r < trackIdx.length; r++) {
    const c = rowToCol[r]!;
    if (c < 0) continue;
    trackToDet[trackIdx[r]!] = freeDets[c]!;
    detUsed[freeDets[c]!] = 1;
  }
}

function toUpdate(t: Track, status: TrackStatus, detected: boolean): TrackUpdate {
  return {
    trackId: t.id,
    status,
    detected,
    box: t.box,
    score: t.score,
    hits: t.hits,
    firstSeenMs: t.firstSeenMs,
    lastSeenMs: t.lastSeenMs,
  };
}

/**
 * One tracker step at time `tMs` (ms, non-decreasing). Returns the next state and one update per
 * track: every live track, plus the tracks dropped at this step (status `removed`, reported once).
 */
export function updateTracks(
  state: ByteTrackerState,
  detections: readonly TrackerDetection[],
  tMs: number,
): { state: ByteTrackerState; updates: TrackUpdate[] } {
  const { config: cfg, noise } = state;
  if (state.lastMs !== null && tMs < state.lastMs) {
    throw new TrackerError('TRACKING_ERR_TIME_BACKWARDS', `time went backwards: ${tMs} < ${state.lastMs}`);
  }
  const dtFrames = state.lastMs === null ? 0 : (tMs - state.lastMs) / cfg.nominalFrameMs;

  const predicted = state.tracks.map((t) => (dtFrames > 0 ? predictKalmanBox(t.kf, dtFrames, noise) : t.kf));
  const predictedBoxes = predicted.map(kalmanBoxToBox);

  const high: number[] = [];
  const low: number[] = [];
  detections.forEach((d, i) => {
    if (d.score >= cfg.highScore) high.push(i);
    else if (d.score >= cfg.lowScore) low.push(i);
  });

  const trackToDet = new Int32Array(state.tracks.length).fill(-1);
  const detUsed = new Uint8Array(detections.length);
  const withStatus = (...statuses: Track['status'][]) =>
    state.tracks.flatMap((t, i) => (statuses.includes(t.status) && trackToDet[i]! < 0 ? [i] : []));

  associate(withStatus('confirmed', 'lost'), predictedBoxes, high, detections, cfg.matchIou, trackToDet, detUsed);
  associate(withStatus('confirmed'), predictedBoxes, low, detections, cfg.lowMatchIou, trackToDet, detUsed);
  associate(withStatus('tentative'), predictedBoxes, high, detections, cfg.tentativeMatchIou, trackToDet, detUsed);

  const tracks: Track[] = [];
  const updates: TrackUpdate[] = [];
  state.tracks.forEach((old, i) => {
    const d = trackToDet[i]!;
    if (d >= 0) {
      const det = detections[d]!;
      const kf = updateKalmanBox(predicted[i]!, det.box, noise);
      const hits = old.hits + 1;
      const status = old.status === 'tentative' && hits < cfg.minHitsToConfirm ? 'tentative' : 'confirmed';
      const next: Track = { ...old, status, kf, box: kalmanBoxToBox(kf), score: det.score, hits, lastSeenMs: tMs };
      tracks.push(next);
      updates.push(toUpdate(next, status, true));
      return;
    }
    const next: Track = { ...old, kf: predicted[i]!, box: predictedBoxes[i]! };
    // A tentative track that misses once was most likely a false detection (ByteTrack drops it too).
    if (old.status === 'tentative' || tMs - old.lastSeenMs > cfg.maxLostMs) {
      updates.push(toUpdate(next, 'removed', false));
      return;
    }
    const lost: Track = { ...next, status: 'lost' };
    tracks.push(lost);
    updates.push(toUpdate(lost, 'lost', false));
  });

  const alive = new Set(tracks.map((t) => t.id));
  for (const d of high) {
    const det = detections[d]!;
    if (detUsed[d] || det.score < cfg.newTrackScore) continue;
    let id = state.newTrackId();
    while (alive.has(id)) id = state.newTrackId();
    alive.add(id);
    const track: Track = {
      id,
      status: cfg.minHitsToConfirm <= 1 ? 'confirmed' : 'tentative',
      kf: initiateKalmanBox(det.box, noise),
      box: det.box,
      score: det.score,
      hits: 1,
      firstSeenMs: tMs,
      lastSeenMs: tMs,
    };
    tracks.push(track);
    updates.push(toUpdate(track, track.status, true));
  }

  return { state: { ...state, tracks, lastMs: tMs }, updates };
}

export interface ByteTracker {
  readonly config: Readonly<ByteTrackerConfig>;
  update(detections: readonly TrackerDetection[], tMs: number): TrackUpdate[];
  /** drop every track (camera restarted, tracking disabled) */
  reset(): void;
}

/** Convenience wrapper holding the state between calls of {@link updateTracks}. */
export function createByteTracker(
  config: Partial<ByteTrackerConfig> = {},
  options: TrackerStateOptions = {},
): ByteTracker {
  let state = createTrackerState(config, options);
  return {
    config: state.config,
    update(detections, tMs) {
      const result = updateTracks(state, detections, tMs);
      state = result.state;
      return result.updates;
    },
    reset() {
      state = createTrackerState(config, options);
    },
  };
}
