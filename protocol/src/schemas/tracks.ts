import { z } from 'zod';
import { idSchema } from '../ids.js';
import { protocolVersionSchema, timestampSchema } from './common.js';

/**
 * Recent anonymous trajectories of one tracking camera, for the supervisors' camera tile: where
 * people walked in the last seconds, as polylines of foot points in frame pixels. QoS 0, not
 * retained, not stored by the server (pushed to the live view only). Ids are short, random and
 * rotate (they are not the movement events' track ids, and a person keeps one only until the next
 * rotation), so a trajectory cannot be followed for long nor linked to an alert or a passage. No
 * image, no appearance feature, no box size beyond what a line needs.
 */

export const TRACKS_MAX_TRACKS = 40;
export const TRACKS_MAX_POINTS = 60;

const trailPointSchema = z
  .tuple([z.number().min(-10_000).max(10_000), z.number().min(-10_000).max(10_000), z.int().min(0).max(600_000)])
  .describe(
    '[x, y, ageMs]: foot point (bottom centre of the box) in frame pixels, and how long before `ts` it was seen',
  );

export const trackTrailSchema = z.strictObject({
  id: z
    .string()
    .regex(/^[a-z2-7]{8}$/)
    .describe('8 random base32 characters, valid until the publisher rotates its ids; not the tracker id'),
  points: z.array(trailPointSchema).min(1).max(TRACKS_MAX_POINTS).describe('oldest first'),
});

const framePoint = z.tuple([z.number(), z.number()]);

export const tracksRulesSchema = z
  .strictObject({
    zones: z
      .array(z.strictObject({ id: idSchema, polygon: z.array(framePoint).min(3).max(64) }))
      .max(32)
      .default([]),
    lines: z
      .array(
        z.strictObject({
          id: idSchema,
          from: framePoint,
          to: framePoint,
          allowedDirection: z.enum(['in', 'out', 'both']),
        }),
      )
      .max(32)
      .default([]),
  })
  .describe('the geometry of the rules in force on the camera (zones, directed lines), to draw them');

export const tracksSchema = z.strictObject({
  v: protocolVersionSchema,
  site: idSchema,
  agent: idSchema,
  camera: idSchema,
  ts: timestampSchema,
  frame: z
    .strictObject({ width: z.int().min(1).max(10_000), height: z.int().min(1).max(10_000) })
    .describe('size of the frames the coordinates refer to'),
  windowMs: z.int().min(1).max(600_000).describe('how far back the trails go'),
  tracks: z.array(trackTrailSchema).max(TRACKS_MAX_TRACKS),
  rules: tracksRulesSchema,
});
export type Tracks = z.infer<typeof tracksSchema>;
export type TrackTrail = z.infer<typeof trackTrailSchema>;
