import { z } from 'zod';
import { boxSchema, envelopeShape } from './common.js';

/** Camera lifecycle, with a machine-readable code and a human reason (never credentials). */
export const cameraEventSchema = z.strictObject({
  ...envelopeShape,
  state: z.enum(['online', 'offline', 'stalled']),
  code: z
    .enum(['OK', 'NOT_FOUND', 'UNREACHABLE', 'UNAUTHORIZED', 'STALLED', 'DECODE_ERROR', 'ENDED', 'STOPPED'])
    .describe('stable reason code'),
  reason: z.string().max(512).optional().describe('human-readable reason, credentials stripped'),
  width: z.number().int().positive().optional(),
  height: z.number().int().positive().optional(),
});
export type CameraEvent = z.infer<typeof cameraEventSchema>;

export const ACCESS_DECISIONS = [
  'accepted',
  'confirmed',
  'mismatch',
  'no_face',
  'low_quality',
  'spoof_suspected',
  'revoked',
  'unknown_credential',
  'expired',
] as const;

/**
 * One verdict per passage. Carries a pseudonymous credential id and scores, never a name or an
 * image: names live only in the control server's database.
 */
export const accessEventSchema = z.strictObject({
  ...envelopeShape,
  passageId: z.string().min(1).max(64),
  credentialId: z.string().min(1).max(64).optional().describe('pseudonymous credential id, absent if unreadable'),
  decision: z.enum(ACCESS_DECISIONS),
  biometric: z.boolean().describe('whether a 1:1 face comparison was made'),
  scores: z
    .strictObject({
      similarity: z.number().min(-1).max(1).optional(),
      threshold: z.number().min(-1).max(1).optional(),
      liveness: z.number().min(0).max(1).optional(),
      quality: z.number().min(0).max(1).optional(),
    })
    .optional(),
  timingsMs: z.record(z.string().max(32), z.number().nonnegative()).optional(),
  modelId: z.string().max(128).optional(),
});
export type AccessEvent = z.infer<typeof accessEventSchema>;

export const MOVEMENT_KINDS = ['zone_entry', 'line_crossing', 'wrong_way', 'tailgating', 'line_counts'] as const;

/** Anonymous: an ephemeral track id and positions, nothing biometric, no image. */
export const movementEventSchema = z.strictObject({
  ...envelopeShape,
  kind: z.enum(MOVEMENT_KINDS),
  rule: z.string().min(1).max(64).describe('id of the declared rule (zone or line)'),
  trackId: z.string().max(64).optional().describe('ephemeral anonymous track id'),
  direction: z.enum(['in', 'out']).optional(),
  box: boxSchema.optional(),
  counts: z.strictObject({ in: z.number().int().nonnegative(), out: z.number().int().nonnegative() }).optional(),
  excess: z.number().int().positive().optional().describe('tailgating: inbound crossings beyond accepted credentials'),
});
export type MovementEvent = z.infer<typeof movementEventSchema>;
