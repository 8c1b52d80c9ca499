// Runs the person detector and the tracking pipeline over a video file, frame by frame, timing
// each stage. Shared by scripts/track.ts, scripts/bench-tracking.ts and the clip integration test.
// Frames live only for their own iteration; nothing is written anywhere.
import { performance } from 'node:perf_hooks';
import type { LineCounts, MovementAlert, TrackingPipeline } from '../../edge-agent/src/tracking/tracking-pipeline.js';
import type { Detector, PersonDetection } from '@portail/vision/types.js';
import { readClipFrames, type ClipInfo } from './clip-frames.js';

export interface ClipTrack {
  /** the anonymous random id the pipeline gave it */
  trackId: string;
  /** frame where the track was born (its first detection) */
  firstFrame: number;
  /** last frame where it was confirmed and detected */
  lastFrame: number;
  /** frames with a detection associated to it */
  framesSeen: number;
}

export interface ClipAlert extends Omit<MovementAlert, 'tMs'> {
  frame: number;
}

export interface TrackClipResult {
  frames: number;
  /** time of the whole loop, decoding included */
  wallMs: number;
  /** every track that was confirmed at least once, in order of birth */
  tracks: ClipTrack[];
  lineCounts: LineCounts;
  alerts: ClipAlert[];
  /** per frame, in ms: waiting for the decoder, person detection, tracker + rules */
  stageMs: { decodeWait: number[]; detect: number[]; trackRules: number[] };
  /** detections per frame (after the detector's score threshold and NMS) */
  detections: number[];
}

export interface TrackClipOptions {
  clip: ClipInfo;
  detector: Detector<PersonDetection>;
  pipeline: TrackingPipeline;
  maxFrames?: number;
  /** capture time of frame 0, ms since epoch (schedules are read at video time from here) */
  startMs?: number;
}

export async function trackClip(opts: TrackClipOptions): Promise<TrackClipResult> {
  const { clip, detector, pipeline } = opts;
  const startMs = opts.startMs ?? Date.now();
  const frameMs = 1000 / clip.fps;
  const frameOf = (tMs: number) => Math.round((tMs - startMs) / frameMs);
  const tracks = new Map<string, ClipTrack>();
  const alerts: ClipAlert[] = [];
  const stageMs: TrackClipResult['stageMs'] = { decodeWait: [], detect: [], trackRules: [] };
  const detections: number[] = [];
  let frames = 0;

  const frameIter = readClipFrames(clip, {
    startMs,
    ...(opts.maxFrames !== undefined ? { maxFrames: opts.maxFrames } : {}),
  });
  const loopStart = performance.now();
  try {
    for (;;) {
      const t0 = performance.now();
      const next = await frameIter.next();
      if (next.done) break;
      const frame = next.value;
      const t1 = performance.now();
      const persons = await detector.detect(frame);
      const t2 = performance.now();
      const step = pipeline.update(persons, frame.tsMs);
      const t3 = performance.now();
      stageMs.decodeWait.push(t1 - t0);
      stageMs.detect.push(t2 - t1);
      stageMs.trackRules.push(t3 - t2);
      detections.push(persons.length);
      frames++;

      for (const t of step.tracks) {
        const seen = tracks.get(t.trackId);
        if (seen) {
          seen.lastFrame = frame.seq;
          seen.framesSeen = t.hits;
        } else {
          tracks.set(t.trackId, {
            trackId: t.trackId,
            firstFrame: frameOf(t.firstSeenMs),
            lastFrame: frame.seq,
            framesSeen: t.hits,
          });
        }
      }
      for (const { tMs: _tMs, ...a } of step.movementAlerts) alerts.push({ ...a, frame: frame.seq });
    }
  } finally {
    // stops ffmpeg when the loop ends early (a detector error)
    await frameIter.return(undefined);
  }
  const wallMs = performance.now() - loopStart;
  return {
    frames,
    wallMs,
    tracks: [...tracks.values()],
    lineCounts: pipeline.snapshot().lineCounts,
    alerts,
    stageMs,
    detections,
  };
}

/** Median of a list of numbers (NaN when empty). */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Nearest-rank quantile, q in [0, 1] (NaN when empty). */
export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
}
