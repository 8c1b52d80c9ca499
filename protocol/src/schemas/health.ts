import { z } from 'zod';
import { idSchema } from '../ids.js';
import { protocolVersionSchema, timestampSchema } from './common.js';

const nonNeg = z.number().nonnegative();

export const stageLatencySchema = z.strictObject({
  p50Ms: nonNeg,
  p95Ms: nonNeg,
  count: z.number().int().nonnegative().describe('samples in this interval'),
});

export const cameraHealthSchema = z.strictObject({
  id: idSchema,
  state: z.enum(['starting', 'online', 'offline', 'stalled']),
  fps: nonNeg.describe('frames processed per second over the interval'),
  framesIn: z.number().int().nonnegative().describe('frames decoded since start'),
  framesProcessed: z.number().int().nonnegative().describe('frames run through the models since start'),
  framesDropped: z.number().int().nonnegative().describe('frames dropped by the newest-frame policy since start'),
});

export const detectorHealthSchema = z.strictObject({
  model: z.string().min(1).max(128),
  kind: z.enum(['face', 'person']),
  provider: z.string().max(32),
  framesRun: z.number().int().nonnegative().describe('frames the model ran on since start'),
  detections: z.number().int().nonnegative().describe('detections above threshold since start'),
  detectionsInInterval: z.number().int().nonnegative(),
});

/** Periodic, not retained: live figures for the console and the fleet view. */
export const healthSchema = z.strictObject({
  v: protocolVersionSchema,
  site: idSchema,
  agent: idSchema,
  ts: timestampSchema,
  intervalS: z.number().positive(),
  uptimeS: nonNeg,
  cameras: z.array(cameraHealthSchema).max(64),
  detectors: z.array(detectorHealthSchema).max(32),
  stages: z.record(z.string().max(64), stageLatencySchema).describe('per-stage latency, e.g. decode, face, person'),
  cpuPct: nonNeg.optional(),
  rssBytes: z.number().int().nonnegative().optional(),
  outboxDepth: z.number().int().nonnegative().optional(),
});
export type Health = z.infer<typeof healthSchema>;
export type CameraHealth = z.infer<typeof cameraHealthSchema>;
export type DetectorHealth = z.infer<typeof detectorHealthSchema>;
