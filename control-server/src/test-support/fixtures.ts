import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  newEventId,
  validate,
  type AccessEvent,
  type CameraEvent,
  type Health,
  type MovementEvent,
  type Status,
} from '@portail/protocol';

/** A fresh temp directory per test file; removed by the returned function. */
export function makeTempDir(prefix = 'portail-cs-'): { dir: string; remove: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

function checked<T>(key: Parameters<typeof validate>[0], value: T): T {
  const r = validate(key, value);
  if (!r.ok) throw new Error(`fixture is not a valid ${key}: ${r.error.messages.join('; ')}`);
  return value;
}

const now = (): string => new Date().toISOString();

export function makeStatus(site: string, agent: string, over: Partial<Status> = {}): Status {
  return checked('status', {
    v: 1,
    site,
    agent,
    state: 'online',
    ts: now(),
    reason: 'started',
    version: '0.1.0',
    cameras: [{ id: 'gate-1', role: 'gate', state: 'online' }],
    ...over,
  } satisfies Status);
}

export function makeHealth(site: string, agent: string, over: Partial<Health> = {}): Health {
  return checked('health', {
    v: 1,
    site,
    agent,
    ts: now(),
    intervalS: 5,
    uptimeS: 42,
    cameras: [{ id: 'gate-1', state: 'online', fps: 9.5, framesIn: 400, framesProcessed: 380, framesDropped: 20 }],
    detectors: [
      { model: 'scrfd', kind: 'face', provider: 'cpu', framesRun: 380, detections: 57, detectionsInInterval: 4 },
      { model: 'yolox-nano', kind: 'person', provider: 'cpu', framesRun: 380, detections: 91, detectionsInInterval: 7 },
    ],
    stages: { decode: { p50Ms: 3.1, p95Ms: 5.2, count: 48 }, face: { p50Ms: 21, p95Ms: 30, count: 48 } },
    ...over,
  } satisfies Health);
}

export function makeCameraEvent(site: string, agent: string, over: Partial<CameraEvent> = {}): CameraEvent {
  return checked('camera', {
    id: newEventId(),
    v: 1,
    site,
    agent,
    camera: 'gate-1',
    ts: now(),
    state: 'offline',
    code: 'UNREACHABLE',
    reason: 'connection refused',
    ...over,
  } satisfies CameraEvent);
}

export function makeAccessEvent(site: string, agent: string, over: Partial<AccessEvent> = {}): AccessEvent {
  return checked('access', {
    id: newEventId(),
    v: 1,
    site,
    agent,
    camera: 'gate-1',
    ts: now(),
    passageId: 'p-1',
    credentialId: 'cred-8f3a',
    decision: 'confirmed',
    biometric: true,
    scores: { similarity: 0.71, threshold: 0.45 },
    ...over,
  } satisfies AccessEvent);
}

export function makeMovementEvent(site: string, agent: string, over: Partial<MovementEvent> = {}): MovementEvent {
  return checked('movement', {
    id: newEventId(),
    v: 1,
    site,
    agent,
    camera: 'hall-1',
    ts: now(),
    kind: 'line_crossing',
    rule: 'entrance',
    trackId: 't-12',
    direction: 'in',
    ...over,
  } satisfies MovementEvent);
}

/** Poll until `fn` returns a non-undefined value; fails with `what` after `timeoutMs`. */
export async function waitFor<T>(
  fn: () => T | undefined | Promise<T | undefined>,
  what: string,
  timeoutMs = 5_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
