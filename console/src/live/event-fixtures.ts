import type { AccessEvent, CameraEvent, MovementEvent } from '@portail/protocol';
import type { LiveEvent } from './wire.js';

// Builders of schema-shaped live events for the console's unit tests (never imported by the app).

export const at = (s: number): string => new Date(Date.UTC(2025, 8, 1, 7, 30, s)).toISOString();
/** UUIDv7-shaped ids that sort like their edge time, as the agent's do */
export const idAt = (s: number, n = 0): string =>
  `0199${String(s).padStart(4, '0')}-0000-7000-8000-${String(n).padStart(12, '0')}`;

export interface Where {
  site?: string;
  agent?: string;
  camera?: string;
  /** orders ids of events at the same second; unique by default */
  n?: number;
}

let seq = 0;

function envelope(s: number, where: Where) {
  const site = where.site ?? 'lycee-a';
  const agent = where.agent ?? 'gate-1';
  const camera = where.camera ?? 'hall';
  return { id: idAt(s, where.n ?? (seq += 1) + 1000), site, agent, camera, ts: at(s) };
}

export function movementEvent(
  s: number,
  fields: Omit<MovementEvent, 'id' | 'v' | 'site' | 'agent' | 'camera' | 'ts'>,
  where: Where = {},
): LiveEvent {
  const env = envelope(s, where);
  return { ...env, kind: 'movement', receivedAt: env.ts, payload: { ...env, v: 1, ...fields } };
}

export function accessEvent(
  s: number,
  fields: Omit<AccessEvent, 'id' | 'v' | 'site' | 'agent' | 'camera' | 'ts' | 'passageId'>,
  where: Where = {},
): LiveEvent {
  const env = envelope(s, { camera: 'entrance', ...where });
  return {
    ...env,
    kind: 'access',
    receivedAt: env.ts,
    payload: { ...env, v: 1, passageId: `p-${s}`, ...fields },
  };
}

export function lineCountsEvent(s: number, rule: string, inN: number, outN: number, where: Where = {}): LiveEvent {
  return movementEvent(s, { kind: 'line_counts', rule, counts: { in: inN, out: outN } }, where);
}

export function cameraEvent(
  s: number,
  fields: Omit<CameraEvent, 'id' | 'v' | 'site' | 'agent' | 'camera' | 'ts'>,
  where: Where = {},
): LiveEvent {
  const env = envelope(s, { camera: 'entrance', ...where });
  return { ...env, kind: 'camera', receivedAt: env.ts, payload: { ...env, v: 1, ...fields } };
}
