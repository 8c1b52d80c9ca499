import { describe, expect, it } from 'vitest';
import { hasPermission, parseSessionInfo, rolesBySite, visiblePanels, type SessionInfo } from './session.js';

// permission maps as the server's `permissionMap` builds them for one role at one site
// (control-server/src/auth/permissions.ts ROLE_PERMISSIONS), written out from the table in docs/security.md
const SITE = 'demo-lycee';
const at = (...perms: string[]) => Object.fromEntries(perms.map((p) => [p, [SITE]]));
const sessionWith = (permissions: Record<string, '*' | string[]>, role = 'supervisor'): SessionInfo =>
  parseSessionInfo({
    authMode: 'required',
    user: { id: 3, username: 'u', roles: [{ role, site: SITE }], totpEnabled: false },
    permissions,
    csrfToken: 'tok',
    expiresAt: '2030-01-01T00:00:00.000Z',
    idleTimeoutMs: 1_800_000,
  })!;

describe('parseSessionInfo', () => {
  it('reads a login / me body and refuses what is not one', () => {
    const s = sessionWith(at('agents:read'));
    expect(s).toMatchObject({ authMode: 'required', csrfToken: 'tok', user: { username: 'u' } });
    expect(s.user!.roles).toEqual([{ role: 'supervisor', site: SITE }]);
    expect(parseSessionInfo({ error: 'UNAUTHENTICATED' })).toBeNull();
    expect(parseSessionInfo('<html>')).toBeNull();
    // a required-mode body without its user or token cannot drive a session
    expect(parseSessionInfo({ authMode: 'required', user: null, permissions: {}, csrfToken: null })).toBeNull();
  });

  it('reads the disabled-mode body of /me (nobody logged in, everything open)', () => {
    const s = parseSessionInfo({
      authMode: 'disabled',
      user: null,
      permissions: { 'agents:read': '*' },
      csrfToken: null,
    });
    expect(s).toMatchObject({ authMode: 'disabled', user: null, csrfToken: null });
    expect(hasPermission(s!, 'events.movement:read')).toBe(true);
    expect(visiblePanels(s!)).toEqual({
      agents: true,
      eventKinds: ['access', 'movement', 'camera'],
      alerts: true,
      lineCounts: true,
    });
  });
});

describe('visiblePanels', () => {
  it('reception: agents, access and camera events and their alerts, no movement panel', () => {
    const s = sessionWith(
      at('agents:read', 'events.access:read', 'events.camera:read', 'live:subscribe', 'photos:read'),
      'reception',
    );
    expect(visiblePanels(s)).toEqual({
      agents: true,
      eventKinds: ['access', 'camera'],
      alerts: true,
      lineCounts: false,
    });
  });

  it('supervisor: everything', () => {
    const s = sessionWith(at('agents:read', 'events.access:read', 'events.movement:read', 'events.camera:read'));
    expect(visiblePanels(s)).toEqual({
      agents: true,
      eventKinds: ['access', 'movement', 'camera'],
      alerts: true,
      lineCounts: true,
    });
  });

  it('regional IT without personal data: agents and camera events only, no alert queue', () => {
    const s = sessionWith({ 'agents:read': '*', 'events.camera:read': '*', 'stats:read': '*' }, 'regional_it');
    expect(visiblePanels(s)).toEqual({ agents: true, eventKinds: ['camera'], alerts: false, lineCounts: false });
  });

  it('a permission listed with no site is not held', () => {
    const s = sessionWith({ 'agents:read': [] });
    expect(hasPermission(s, 'agents:read')).toBe(false);
    expect(visiblePanels(s).agents).toBe(false);
  });
});

describe('rolesBySite', () => {
  it('groups the grants by role, in role order, sites sorted', () => {
    expect(
      rolesBySite({
        id: 1,
        username: 'x',
        totpEnabled: false,
        roles: [
          { role: 'site_admin', site: 'lycee-b' },
          { role: 'regional_it', site: '*' },
          { role: 'site_admin', site: 'lycee-a' },
        ],
      }),
    ).toEqual([
      { role: 'site_admin', sites: ['lycee-a', 'lycee-b'] },
      { role: 'regional_it', sites: ['*'] },
    ]);
  });
});
