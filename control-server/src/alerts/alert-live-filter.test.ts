import { describe, expect, it } from 'vitest';
import type { Principal, RoleGrant } from '../auth/permissions.js';
import { liveFilterOf } from '../http/auth/scope.js';
import type { LiveMessage } from '../services/live-bus.js';
import type { AlertAck, AlertKind } from './alert-service.js';

// Who receives the live view's pushes: acknowledgements go to the consoles that could show the
// alert, trails to those reading movement, each at its own site only.

const principal = (grants: RoleGrant[]): Principal => ({ userId: 1, username: 'u', grants, authDisabled: false });
const ack = (kind: AlertKind, site = 's1'): LiveMessage => ({
  type: 'alert_ack',
  ack: {
    alertId: 'x',
    site,
    kind,
    agent: 'g',
    camera: null,
    alertTs: '2026-11-22T07:55:00.000Z',
    ackedAt: '2026-11-22T07:56:00.000Z',
    ackedBy: 'sup',
    note: null,
  } satisfies AlertAck,
});
const tracks = (site: string): LiveMessage => ({
  type: 'tracks',
  tracks: {
    v: 1,
    site,
    agent: 'g',
    camera: 'hall',
    ts: '2026-11-22T07:55:00.000Z',
    frame: { width: 640, height: 360 },
    windowMs: 10_000,
    tracks: [],
    rules: { zones: [], lines: [] },
  },
});

describe('live filter of the live view pushes', () => {
  it('sends acknowledgements and trails to supervisors of the site only', () => {
    const sup = liveFilterOf(principal([{ role: 'supervisor', site: 's1' }]));
    for (const k of ['tailgating', 'mismatch', 'camera_offline', 'agent_offline'] as const) {
      expect(sup(ack(k)), k).toBe(true);
      expect(sup(ack(k, 's2')), k).toBe(false);
    }
    expect(sup(tracks('s1'))).toBe(true);
    expect(sup(tracks('s2'))).toBe(false);
  });

  it('follows the source of each alert: reception sees gate and camera acknowledgements, not movement nor trails', () => {
    const rec = liveFilterOf(principal([{ role: 'reception', site: 's1' }]));
    expect(rec(ack('mismatch'))).toBe(true);
    expect(rec(ack('camera_offline'))).toBe(true);
    expect(rec(ack('agent_offline'))).toBe(true);
    expect(rec(ack('wrong_way'))).toBe(false);
    expect(rec(tracks('s1'))).toBe(false);
  });

  it('gives regional IT no trails and no access alerts', () => {
    const it1 = liveFilterOf(principal([{ role: 'regional_it', site: '*' }]));
    expect(it1(tracks('s1'))).toBe(false);
    expect(it1(ack('spoof_suspected'))).toBe(false);
    expect(it1(ack('camera_offline'))).toBe(true);
  });
});
