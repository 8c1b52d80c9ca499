import { describe, expect, it } from 'vitest';
import { evaluateLiveConfig, keepScoresAbove, liveScoreThresholds } from './live-config.js';

const ctx = { site: 's1', agent: 'a1', cameras: [{ id: 'gate', role: 'gate' as const }, { id: 'hall', role: 'tracking' as const }] };
const cfg = (cameras: unknown[], over: Record<string, unknown> = {}) =>
  JSON.stringify({ v: 1, site: 's1', agent: 'a1', ts: new Date().toISOString(), configVersion: 4, cameras, ...over });
const hall = (o: Record<string, unknown> = {}) => ({ id: 'hall', locationType: 'circulation', trackingEnabled: true, lines: [{ id: 'l1', from: [0, 10], to: [100, 10] }], ...o });

describe('evaluateLiveConfig', () => {
  it('accepts a valid configuration for this agent', () => {
    const r = evaluateLiveConfig(cfg([hall()]), ctx);
    expect(r.ok).toBe(true);
    expect(r.ok && r.config.cameras[0]!.lines).toHaveLength(1);
  });

  it('rejects invalid JSON and schema errors, keeping the version when it can be read', () => {
    expect(evaluateLiveConfig('{nope', ctx)).toMatchObject({ ok: false, receivedVersion: null });
    const r = evaluateLiveConfig(cfg([hall({ locationType: 'playground' })]), ctx);
    expect(r).toMatchObject({ ok: false, receivedVersion: 4 });
    expect(!r.ok && r.errors.join(' ')).toMatch(/never tracked|entrance|circulation/);
  });

  it('rejects a configuration for another agent, an unknown camera, or tracking on a gate-only camera', () => {
    expect(evaluateLiveConfig(cfg([], { agent: 'a2' }), ctx)).toMatchObject({ ok: false, errors: [expect.stringContaining('addressed to s1/a2')] });
    expect(evaluateLiveConfig(cfg([hall({ id: 'roof' })]), ctx)).toMatchObject({ ok: false, errors: [expect.stringContaining('no camera "roof"')] });
    const gateTracking = evaluateLiveConfig(cfg([{ id: 'gate', locationType: 'entrance', trackingEnabled: true }]), ctx);
    expect(gateTracking).toMatchObject({ ok: false, errors: [expect.stringContaining('gate role')] });
  });

  it('accepts live score thresholds at or above the local floors, and puts them in force', () => {
    const floors = { face: 0.6, person: 0.1 };
    const r = evaluateLiveConfig(cfg([hall()], { thresholds: { personScore: 0.5 } }), { ...ctx, scoreFloors: floors });
    expect(r.ok).toBe(true);
    expect(r.ok && liveScoreThresholds(r.config, floors)).toEqual({ face: 0.6, person: 0.5 });
    // a configuration without thresholds brings back the local ones
    const plain = evaluateLiveConfig(cfg([hall()]), { ...ctx, scoreFloors: floors });
    expect(plain.ok && liveScoreThresholds(plain.config, floors)).toEqual(floors);
  });

  it('rejects a live threshold below what the detector already dropped, naming the local setting', () => {
    const r = evaluateLiveConfig(cfg([hall()], { thresholds: { faceScore: 0.4 } }), { ...ctx, scoreFloors: { face: 0.6, person: 0.1 } });
    expect(r).toMatchObject({ ok: false, receivedVersion: 4 });
    expect(!r.ok && r.errors.join(' ')).toMatch(/thresholds\.faceScore: 0\.4 is below 0\.6.*vision\.face\.scoreThreshold/);
  });
});

describe('keepScoresAbove', () => {
  it('keeps detections scoring at or above the threshold, in order', () => {
    const found = [{ score: 0.9, id: 'a' }, { score: 0.2, id: 'b' }, { score: 0.5, id: 'c' }];
    expect(keepScoresAbove(found, 0.5).map((d) => d.id)).toEqual(['a', 'c']);
    expect(keepScoresAbove(found, 0)).toHaveLength(3);
    expect(keepScoresAbove(found, 0.95)).toEqual([]);
  });
});
