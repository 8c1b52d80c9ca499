import type { ApiClient, ApiResult } from '../../../api/api-client.js';
import type { Role, RoleGrant, SessionInfo } from '../../../auth/session.js';

/**
 * Operator accounts as the admin « users » section sees them (GET /api/users: only the grants at the
 * sites the caller administers), and the calls that change them. The server checks every call per
 * site; these helpers only decide what to offer.
 */
export interface UserView {
  id: number;
  username: string;
  disabled: boolean;
  totpEnabled: boolean;
  roles: RoleGrant[];
  email: string | null;
  lockedUntil: string | null;
  recoveryCodesLeft: number | null;
  totpEnrolmentRequired: boolean;
  createdAt: string;
}

export type AccountState = 'active' | 'disabled' | 'locked';
export type TotpState = 'enabled' | 'required' | 'none';

export function accountState(u: UserView, nowMs: number = Date.now()): AccountState {
  if (u.disabled) return 'disabled';
  return u.lockedUntil !== null && Date.parse(u.lockedUntil) > nowMs ? 'locked' : 'active';
}

export function totpState(u: UserView): TotpState {
  if (u.totpEnabled) return 'enabled';
  return u.totpEnrolmentRequired ? 'required' : 'none';
}

/** Sites where the session administers accounts: `*` (every site) or a list. */
export function accountSitesOf(s: SessionInfo): '*' | string[] {
  if (s.authMode === 'disabled') return '*';
  const sites = s.permissions['users:write'];
  if (sites === '*') return '*';
  return sites ? [...sites].sort() : [];
}

/**
 * Roles the session may grant at `site`: site admins give reception, supervisor and site_admin;
 * regional_it only comes from regional IT (the server's canManageGrant decides in the end).
 */
export function grantableRoles(s: SessionInfo, site: string): Role[] {
  const base: Role[] = ['reception', 'supervisor', 'site_admin'];
  const it =
    s.authMode === 'disabled' ||
    (s.user?.roles ?? []).some((g) => g.role === 'regional_it' && (g.site === '*' || g.site === site));
  return it ? [...base, 'regional_it'] : base;
}

/** The roles an account holds at `site`, in display order. */
export function rolesAt(u: UserView, site: string): Role[] {
  const order: Role[] = ['reception', 'supervisor', 'site_admin', 'regional_it'];
  const held = new Set(u.roles.filter((g) => g.site === site).map((g) => g.role));
  return order.filter((r) => held.has(r));
}

/** Accounts with a grant at `site`, sorted by username. */
export function usersAt(users: readonly UserView[], site: string): UserView[] {
  return users.filter((u) => u.roles.some((g) => g.site === site)).sort((a, b) => a.username.localeCompare(b.username));
}

/**
 * The grants to send when the roles at `site` change: the server replaces the grants at the sites
 * the caller administers, so every visible grant at other sites is sent back unchanged.
 */
export function grantsWithRolesAt(u: UserView, site: string, roles: readonly Role[]): RoleGrant[] {
  return [...u.roles.filter((g) => g.site !== site), ...roles.map((role) => ({ role, site }))];
}

export interface UsersApi {
  list(): Promise<ApiResult<{ users: UserView[] }>>;
  create(input: {
    username: string;
    password: string;
    roles: RoleGrant[];
    email?: string | null;
  }): Promise<ApiResult<{ user: UserView }>>;
  setDisabled(id: number, disabled: boolean): Promise<ApiResult<{ user: UserView }>>;
  resetPassword(id: number, password: string): Promise<ApiResult<{ user: UserView }>>;
  resetTotp(id: number): Promise<ApiResult<{ user: UserView }>>;
  setRoles(id: number, roles: RoleGrant[]): Promise<ApiResult<{ user: UserView }>>;
}

export function usersApi(api: ApiClient): UsersApi {
  return {
    list: () => api.get('/api/users'),
    create: (input) => api.send('POST', '/api/users', input),
    setDisabled: (id, disabled) => api.send('POST', `/api/users/${id}/${disabled ? 'disable' : 'enable'}`),
    resetPassword: (id, password) => api.send('POST', `/api/users/${id}/password`, { password }),
    resetTotp: (id) => api.send('POST', `/api/users/${id}/totp/reset`),
    setRoles: (id, roles) => api.send('PUT', `/api/users/${id}/roles`, { roles }),
  };
}
