import { describe, expect, it } from 'vitest';
import type { RoleGrant, SessionInfo } from '../../../auth/session.js';
import {
  accountSitesOf,
  accountState,
  grantableRoles,
  grantsWithRolesAt,
  rolesAt,
  totpState,
  usersAt,
  type UserView,
} from './users-api.js';

const user = (over: Partial<UserView>): UserView => ({
  id: 1,
  username: 'u',
  disabled: false,
  totpEnabled: false,
  roles: [],
  email: null,
  lockedUntil: null,
  recoveryCodesLeft: null,
  totpEnrolmentRequired: false,
  createdAt: '2026-03-01T00:00:00.000Z',
  ...over,
});
const session = (roles: RoleGrant[], perms: Record<string, '*' | string[]>): SessionInfo => ({
  authMode: 'required',
  user: { id: 9, username: 'me', roles, totpEnabled: false },
  permissions: perms,
  csrfToken: 'x',
  expiresAt: null,
  idleTimeoutMs: null,
});

describe('users section helpers', () => {
  const NOW = Date.parse('2026-03-02T08:00:00Z');
  it('names the state of an account: disabled first, then a lock still running', () => {
    expect(accountState(user({ disabled: true, lockedUntil: '2026-03-02T09:00:00Z' }), NOW)).toBe('disabled');
    expect(accountState(user({ lockedUntil: '2026-03-02T09:00:00Z' }), NOW)).toBe('locked');
    expect(accountState(user({ lockedUntil: '2026-03-02T07:00:00Z' }), NOW)).toBe('active');
    expect(totpState(user({ totpEnabled: true }))).toBe('enabled');
    expect(totpState(user({ totpEnrolmentRequired: true }))).toBe('required');
    expect(totpState(user({}))).toBe('none');
  });

  it('offers regional_it only to regional IT of the site, and the sites from users:write', () => {
    const adm = session([{ role: 'site_admin', site: 's1' }], { 'users:write': ['s1'] });
    expect(grantableRoles(adm, 's1')).toEqual(['reception', 'supervisor', 'site_admin']);
    expect(accountSitesOf(adm)).toEqual(['s1']);
    const it = session([{ role: 'regional_it', site: '*' }], { 'users:write': '*' });
    expect(grantableRoles(it, 's2')).toContain('regional_it');
    expect(accountSitesOf(it)).toBe('*');
    expect(accountSitesOf(session([], {}))).toEqual([]);
  });

  it('changes the roles at one site and keeps the grants elsewhere', () => {
    const u = user({
      roles: [
        { role: 'reception', site: 's1' },
        { role: 'supervisor', site: 's2' },
      ],
    });
    expect(grantsWithRolesAt(u, 's1', ['supervisor', 'site_admin'])).toEqual([
      { role: 'supervisor', site: 's2' },
      { role: 'supervisor', site: 's1' },
      { role: 'site_admin', site: 's1' },
    ]);
    expect(rolesAt(u, 's2')).toEqual(['supervisor']);
    expect(
      usersAt([user({ username: 'b', roles: u.roles }), user({ username: 'a', roles: [] })], 's1').map(
        (x) => x.username,
      ),
    ).toEqual(['b']);
  });
});
