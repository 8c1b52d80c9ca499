import { z } from 'zod';
import { eventIdSchema, idSchema } from '../ids.js';
import { PROTOCOL_VERSION } from '../version.js';

export const protocolVersionSchema = z.literal(PROTOCOL_VERSION).describe('protocol version');
export const timestampSchema = z.iso.datetime({ offset: false }).describe('UTC time, ISO 8601 with Z');

/** Envelope shared by every event (access, movement, camera): the id is the idempotency key. */
export const envelopeShape = {
  id: eventIdSchema.describe('UUIDv7 made at the edge; the server stores each id once'),
  v: protocolVersionSchema,
  site: idSchema.describe('site id (no personal data)'),
  agent: idSchema.describe('edge agent id'),
  camera: idSchema.describe('camera id on that agent'),
  ts: timestampSchema,
} as const;

export const boxSchema = z
  .tuple([z.number(), z.number(), z.number(), z.number()])
  .describe('box in pixels of the camera frame: [x, y, width, height]');
