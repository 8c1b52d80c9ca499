/** A decoded camera frame: packed BGR24 (the order YuNet and YOLOX want), row-major, no padding. */
export interface Frame {
  cameraId: string;
  /** frame number since the camera (re)started */
  seq: number;
  /** capture time, ms since epoch */
  tsMs: number;
  width: number;
  height: number;
  data: Uint8Array;
}

/** Axis-aligned box in frame pixels. */
export interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

export type Point = [number, number];

export interface FaceDetection {
  box: Box;
  score: number;
  /** 5 points: subject's right eye (image left), left eye, nose tip, right mouth corner, left mouth corner */
  landmarks: [Point, Point, Point, Point, Point];
}

export interface PersonDetection {
  box: Box;
  score: number;
}

/** Running counters of one detector, for agent health. Times are of the last frame, in ms. */
export interface DetectorStats {
  /** frames passed through the model since the detector was created */
  framesRun: number;
  /** detections returned since the detector was created (after thresholds and NMS) */
  detections: number;
  /** `session.run()` time of the last frame */
  lastInferenceMs: number;
  /** resize/pad/normalise time of the last frame */
  lastPreprocessMs: number;
}

/** A model-backed detector; constructors do no I/O, `create*` factories open the ONNX session. */
export interface Detector<D> {
  readonly modelName: string;
  readonly sha256: string;
  /** execution provider the session actually runs on */
  readonly provider: string;
  detect(frame: Frame): Promise<D[]>;
  close(): Promise<void>;
  /** a snapshot of the running counters */
  stats(): DetectorStats;
}
