import { v7 as uuidv7 } from 'uuid';
import { z } from 'zod';

/**
 * Site, agent and camera ids appear in topic names, so they are restricted to characters that can
 * never be MQTT wildcards or separators, and they must never carry personal data.
 */
export const ID_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;
export const idSchema = z
  .string()
  .regex(ID_PATTERN, 'must be 1-64 chars of a-z, 0-9, "-" or "_", starting with a letter or digit');

/** UUIDv7: time-ordered, made at the source so the server can store events idempotently. */
export const eventIdSchema = z.uuid({ version: 'v7', message: 'must be a UUIDv7' });

export function newEventId(): string {
  return uuidv7();
}

export function isValidId(id: string): boolean {
  return ID_PATTERN.test(id);
}
