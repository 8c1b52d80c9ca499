/**
 * The session as the console reads it from `POST /api/auth/login` and `GET /api/auth/me`. The server
 * owns the shape (control-server/src/http/routes/auth-routes.ts) and decides what each account may
 * see; the console only hides the panels an account would never receive anything for, so an empty
 * panel never suggests "nothing happened" when the truth is "not yours to see".
 */

export type AuthMode = 'required' | 'disabled';
export const ROLES = ['reception', 'supervisor', 'site_admin', 'regional_it'] as const;
export type Role = (typeof ROLES)[number];

export interface RoleGrant {
  role: Role;
  /** a site id, or `*` for every site */
  site: string;
}

export interface SessionUser {
  id: number;
  username: string;
  roles: RoleGrant[];
  totpEnabled: boolean;
}

/** For each permission held somewhere: `*` (every site) or the list of sites. */
export type PermissionMap = Readonly<Record<string, '*' | readonly string[]>>;

export interface SessionInfo {
  authMode: AuthMode;
  /** null in disabled mode: nobody is logged in and everything is open */
  user: SessionUser | null;
  permissions: PermissionMap;
  /** sent back in `X-CSRF-Token` on every state-changing request; null in disabled mode */
  csrfToken: string | null;
  expiresAt: string | null;
  idleTimeoutMs: number | null;
  /** the account must enrol TOTP before anything else (auth.totpRequiredRoles); absent: false */
  totpEnrolmentRequired?: boolean;
  /** unused recovery codes of the second factor; null or absent without one */
  recoveryCodesLeft?: number | null;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
const isRole = (v: unknown): v is Role => typeof v === 'string' && (ROLES as readonly string[]).includes(v);

function parseUser(v: unknown): SessionUser | null {
  if (!isObject(v) || typeof v.username !== 'string' || !Array.isArray(v.roles)) return null;
  const roles = v.roles.flatMap((g: unknown): RoleGrant[] =>
    isObject(g) && isRole(g.role) && typeof g.site === 'string' ? [{ role: g.role, site: g.site }] : [],
  );
  return {
    id: typeof v.id === 'number' ? v.id : 0,
    username: v.username,
    roles,
    totpEnabled: v.totpEnabled === true,
  };
}

function parsePermissions(v: unknown): PermissionMap {
  const out: Record<string, '*' | string[]> = {};
  if (!isObject(v)) return out;
  for (const [perm, sites] of Object.entries(v)) {
    if (sites === '*') out[perm] = '*';
    else if (Array.isArray(sites)) out[perm] = sites.filter((s): s is string => typeof s === 'string');
  }
  return out;
}

/** The body of login or /me; null when it is not one (a proxy's error page, an older server). */
export function parseSessionInfo(v: unknown): SessionInfo | null {
  if (!isObject(v) || (v.authMode !== 'required' && v.authMode !== 'disabled')) return null;
  const user = v.user === null || v.user === undefined ? null : parseUser(v.user);
  if (v.authMode === 'required' && (user === null || typeof v.csrfToken !== 'string')) return null;
  return {
    authMode: v.authMode,
    user,
    permissions: parsePermissions(v.permissions),
    csrfToken: typeof v.csrfToken === 'string' ? v.csrfToken : null,
    expiresAt: typeof v.expiresAt === 'string' ? v.expiresAt : null,
    idleTimeoutMs: typeof v.idleTimeoutMs === 'number' ? v.idleTimeoutMs : null,
    totpEnrolmentRequired: v.totpEnrolmentRequired === true,
    recoveryCodesLeft: typeof v.recoveryCodesLeft === 'number' ? v.recoveryCodesLeft : null,
  };
}

/** Held at one site at least (disabled mode holds everything). */
export function hasPermission(s: SessionInfo, perm: string): boolean {
  if (s.authMode === 'disabled') return true;
  const sites = s.permissions[perm];
  return sites === '*' || (sites !== undefined && sites.length > 0);
}

export interface PanelVisibility {
  agents: boolean;
  /** event kinds the server sends this account, in display order */
  eventKinds: Array<'access' | 'movement' | 'camera'>;
  /** movement alerts and the access verdicts that need a person */
  alerts: boolean;
  /** line counts are movement events */
  lineCounts: boolean;
}

/**
 * Which panels can ever show something for this account. The server filters the feed per site and
 * event kind; a panel fed only by kinds the account does not receive is left out.
 */
export function visiblePanels(s: SessionInfo): PanelVisibility {
  const access = hasPermission(s, 'events.access:read');
  const movement = hasPermission(s, 'events.movement:read');
  const camera = hasPermission(s, 'events.camera:read');
  return {
    agents: hasPermission(s, 'agents:read'),
    eventKinds: [
      ...(access ? (['access'] as const) : []),
      ...(movement ? (['movement'] as const) : []),
      ...(camera ? (['camera'] as const) : []),
    ],
    alerts: access || movement,
    lineCounts: movement,
  };
}

/** The account's roles, each with the sites it holds it at, in the order of ROLES. */
export function rolesBySite(user: SessionUser): Array<{ role: Role; sites: string[] }> {
  return ROLES.flatMap((role) => {
    const sites = [...new Set(user.roles.filter((g) => g.role === role).map((g) => g.site))].sort();
    return sites.length > 0 ? [{ role, sites }] : [];
  });
}
