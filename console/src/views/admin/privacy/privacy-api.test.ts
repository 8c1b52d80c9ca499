import { describe, expect, it } from 'vitest';
import type { SessionInfo } from '../../../auth/session.js';
import { canWriteRetention, gateLabel, parseDays, privacySitesOf, retentionPatch } from './privacy-api.js';

const session = (permissions: Record<string, '*' | string[]>): SessionInfo => ({
  authMode: 'required',
  user: { id: 1, username: 'u', roles: [], totpEnabled: false },
  permissions,
  csrfToken: 'x',
  expiresAt: null,
  idleTimeoutMs: null,
});
const lane = { passages: 0, timed: 0, untimed: 0, incomplete: 0, medianMs: null, p95Ms: null };

describe('privacy section helpers', () => {
  it('checks a period against its hard limits', () => {
    const limit = { defaultDays: 30, minDays: 1, maxDays: 90 };
    expect(parseDays('30', limit)).toEqual({ ok: true, days: 30 });
    expect(parseDays(' 90 ', limit)).toEqual({ ok: true, days: 90 });
    expect(parseDays('91', limit)).toEqual({ ok: false, reason: 'above' });
    expect(parseDays('0', limit)).toEqual({ ok: false, reason: 'below' });
    expect(parseDays('1e3', limit)).toEqual({ ok: false, reason: 'not_a_number' });
    expect(parseDays('', limit)).toEqual({ ok: false, reason: 'not_a_number' });
  });

  it('sends only the periods that changed', () => {
    const current = {
      accessEventsDays: 30,
      movementEventsDays: 30,
      cameraEventsDays: 90,
      visitorsDays: 90,
      departedStudentsDays: 30,
    };
    expect(retentionPatch(current, { accessEventsDays: 30, visitorsDays: 60 })).toEqual({ visitorsDays: 60 });
    expect(retentionPatch(current, {})).toEqual({});
  });

  it('reads the sites from register:read, writing from retention:write', () => {
    const adm = session({ 'register:read': ['s2', 's1'], 'retention:write': ['s1'] });
    expect(privacySitesOf(adm)).toEqual(['s1', 's2']);
    expect(canWriteRetention(adm, 's1')).toBe(true);
    expect(canWriteRetention(adm, 's2')).toBe(false);
    expect(privacySitesOf(session({ 'register:read': '*' }))).toBe('*');
  });

  it('labels a gate by agent and camera', () => {
    expect(
      gateLabel({ agent: 'gate-1', camera: 'entrance', badgeOnly: lane, biometric: lane, medianRatio: null }),
    ).toBe('gate-1 / entrance');
    expect(gateLabel({ badgeOnly: lane, biometric: lane, medianRatio: null })).toBe('');
  });
});
