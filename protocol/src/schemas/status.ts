import { z } from 'zod';
import { idSchema } from '../ids.js';
import { protocolVersionSchema, timestampSchema } from './common.js';

export const modelInfoSchema = z.strictObject({
  name: z.string().min(1).max(128),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  provider: z.string().max(32).describe('execution provider the session actually runs on').optional(),
});

export const cameraInfoSchema = z.strictObject({
  id: idSchema,
  role: z.enum(['gate', 'tracking', 'both']).describe('what the camera is used for'),
  state: z.enum(['starting', 'online', 'offline', 'stalled']),
});

/** Retained. Set to `offline` by the broker through the agent's last will when the agent dies. */
export const statusSchema = z.strictObject({
  v: protocolVersionSchema,
  site: idSchema,
  agent: idSchema,
  state: z.enum(['online', 'offline']),
  ts: timestampSchema,
  reason: z.enum(['started', 'stopped', 'connection_lost']).optional(),
  version: z.string().max(64).optional().describe('agent software version'),
  models: z.array(modelInfoSchema).max(32).optional(),
  cameras: z.array(cameraInfoSchema).max(64).optional(),
  configVersion: z.number().int().nonnegative().optional(),
});
export type Status = z.infer<typeof statusSchema>;
export type ModelInfo = z.infer<typeof modelInfoSchema>;
export type CameraInfo = z.infer<typeof cameraInfoSchema>;
