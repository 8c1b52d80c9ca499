import { z } from 'zod';
import { idSchema } from '../ids.js';
import { protocolVersionSchema, timestampSchema } from './common.js';

const point = z.tuple([z.number(), z.number()]);

/**
 * Retained, server → agent. Camera sources are not in here (they carry secrets and stay in the
 * agent's local config); only what the site declares: rules and thresholds.
 */
export const agentConfigSchema = z.strictObject({
  v: protocolVersionSchema,
  site: idSchema,
  agent: idSchema,
  ts: timestampSchema,
  configVersion: z.number().int().nonnegative(),
  cameras: z
    .array(
      z.strictObject({
        id: idSchema,
        trackingEnabled: z.boolean().default(false),
        zones: z
          .array(z.strictObject({ id: idSchema, polygon: z.array(point).min(3).max(64) }))
          .max(32)
          .default([]),
        lines: z
          .array(z.strictObject({ id: idSchema, from: point, to: point }))
          .max(32)
          .default([]),
      }),
    )
    .max(64),
  thresholds: z
    .strictObject({
      faceScore: z.number().min(0).max(1).optional(),
      personScore: z.number().min(0).max(1).optional(),
    })
    .default({}),
});
export type AgentConfig = z.infer<typeof agentConfigSchema>;
