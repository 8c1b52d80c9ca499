/**
 * Roles, permissions and per-site scoping: pure data and pure functions, no I/O.
 *
 * A user holds roles per site; `regional_it` may also hold the global site `*`. A permission is granted
 * at a site when one of the user's roles at that site (or at `*`) carries it. Regional IT runs the
 * fleet but gets no permission on personal data (people, photos, templates, access events): it sees
 * those of a site only when it is also `site_admin` (or another personal-data role) of that site.
 */

export const ROLES = ['reception', 'supervisor', 'site_admin', 'regional_it'] as const;
export type Role = (typeof ROLES)[number];

/** The site value of a grant that covers every site; only `regional_it` may hold it. */
export const ALL_SITES = '*';

export interface RoleGrant {
  role: Role;
  /** a site id, or `*` (regional_it only) */
  site: string;
}

export const PERMISSIONS = [
  // routes that exist today
  'agents:read',
  'events.access:read',
  'events.movement:read',
  'events.camera:read',
  'live:subscribe',
  'stats:read',
  'metrics:read',
  'users:read',
  'users:write',
  'audit:read',
  // declared now for the routes of the coming issues, so the matrix is settled before they land
  'visitors:write',
  'overrides:write',
  'alerts:ack',
  'people:read',
  'people:write',
  'photos:read',
  'consent:write',
  'enrolment:write',
  'cameras:write',
  'zones:write',
  'sites:write',
  'agents:provision',
  'models:write',
  // privacy (privacy/): a person's export and erasure, the register, retention and pilot settings
  'people:export',
  'people:erase',
  'register:read',
  'retention:write',
  // cameras (cameras/): pixelated snapshots (no face left in them), the live preview (faces visible)
  'snapshots:read',
  'preview:view',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

/** Permissions that touch personal data: regional_it must never hold one through its own role. */
export const PERSONAL_DATA_PERMISSIONS: readonly Permission[] = [
  'events.access:read',
  'people:read',
  'people:write',
  'photos:read',
  'consent:write',
  'enrolment:write',
  'visitors:write',
  'overrides:write',
  'people:export',
  'people:erase',
  // the live preview shows faces unblurred
  'preview:view',
];

export const ROLE_PERMISSIONS: Readonly<Record<Role, readonly Permission[]>> = {
  // the gate view: passages (with the reference photo), camera state, visitors, overrides with a reason
  reception: [
    'agents:read',
    'events.access:read',
    'events.camera:read',
    'live:subscribe',
    'photos:read',
    'visitors:write',
    'overrides:write',
  ],
  // the live console of a site: every event kind, alerts and their acknowledgement
  supervisor: [
    'agents:read',
    'events.access:read',
    'events.movement:read',
    'events.camera:read',
    'live:subscribe',
    'alerts:ack',
    'snapshots:read',
    'preview:view',
  ],
  // the site's people, consent, enrolment, cameras and zones, and its operators
  site_admin: [
    'agents:read',
    'events.access:read',
    'events.movement:read',
    'events.camera:read',
    'live:subscribe',
    'users:read',
    'users:write',
    'audit:read',
    'people:read',
    'people:write',
    'photos:read',
    'consent:write',
    'enrolment:write',
    'cameras:write',
    'zones:write',
    'people:export',
    'people:erase',
    'register:read',
    'retention:write',
    'snapshots:read',
    'preview:view',
  ],
  // sites, agents, provisioning, fleet health, models: no personal data
  regional_it: [
    'agents:read',
    'events.camera:read',
    'live:subscribe',
    'stats:read',
    'metrics:read',
    'users:read',
    'users:write',
    'audit:read',
    'cameras:write',
    'zones:write',
    'sites:write',
    'agents:provision',
    'models:write',
    // the register, retention table, pilot summary and equal-service figures hold no personal data
    'register:read',
    // faces are pixelated in snapshots (the zone editor); the live preview is not theirs
    'snapshots:read',
  ],
};

/**
 * What a route requires, declared in its Fastify config (`config: { permission }`):
 * `public` (no session), `authenticated` (any logged-in user), one permission, or any of several.
 */
export type RouteAccess = 'public' | 'authenticated' | Permission | readonly Permission[];

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

export function isRouteAccess(value: unknown): value is RouteAccess {
  if (value === 'public' || value === 'authenticated') return true;
  if (typeof value === 'string') return (PERMISSIONS as readonly string[]).includes(value);
  return (
    Array.isArray(value) &&
    value.length > 0 &&
    value.every((v) => typeof v === 'string' && (PERMISSIONS as readonly string[]).includes(v))
  );
}

/** Site ids are the ones used in MQTT topics; `*` is reserved for the global grant. */
export const SITE_ID_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;

export function validateGrant(grant: RoleGrant): string | null {
  if (!isRole(grant.role)) return `unknown role ${String(grant.role)}`;
  if (grant.site === ALL_SITES) {
    return grant.role === 'regional_it' ? null : `only regional_it may be granted on every site (*)`;
  }
  return SITE_ID_PATTERN.test(grant.site) ? null : `invalid site id ${JSON.stringify(grant.site)}`;
}

/**
 * Who is asking. `authDisabled` is the principal of a server started with `auth.mode: disabled`:
 * everything is allowed, as before accounts existed.
 */
export interface Principal {
  userId: number | null;
  username: string;
  grants: readonly RoleGrant[];
  authDisabled: boolean;
}

/** Sites where `p` holds `perm`: `*` for every site, else the set (possibly empty). */
export function sitesWith(p: Principal, perm: Permission): typeof ALL_SITES | Set<string> {
  if (p.authDisabled) return ALL_SITES;
  const sites = new Set<string>();
  for (const g of p.grants) {
    if (!ROLE_PERMISSIONS[g.role].includes(perm)) continue;
    if (g.site === ALL_SITES) return ALL_SITES;
    sites.add(g.site);
  }
  return sites;
}

/** `perm` at `site`; without a site, `perm` at one site at least (the handler then scopes the data). */
export function can(p: Principal, perm: Permission, site?: string): boolean {
  const sites = sitesWith(p, perm);
  if (sites === ALL_SITES) return true;
  return site === undefined ? sites.size > 0 : sites.has(site);
}

/** `perm` on every site, through a global grant. */
export function canEverywhere(p: Principal, perm: Permission): boolean {
  return sitesWith(p, perm) === ALL_SITES;
}

export function siteAllowed(sites: typeof ALL_SITES | Set<string>, site: string): boolean {
  return sites === ALL_SITES || sites.has(site);
}

/** Roles of `p` that apply at `site` (its own and the global ones), for the audit log. */
export function rolesAt(p: Principal, site?: string | null): Role[] {
  const roles = new Set<Role>();
  for (const g of p.grants) {
    if (site === undefined || site === null || g.site === ALL_SITES || g.site === site) roles.add(g.role);
  }
  return [...roles].sort();
}

/**
 * May `actor` give (or take away) `grant`? It needs `users:write` at the grant's site; a global grant
 * needs `users:write` everywhere; and only regional IT hands out regional IT, so a site admin cannot
 * raise anyone, themselves included, above site level.
 */
export function canManageGrant(actor: Principal, grant: RoleGrant): boolean {
  if (actor.authDisabled) return true;
  if (grant.site === ALL_SITES) return canEverywhere(actor, 'users:write');
  if (!can(actor, 'users:write', grant.site)) return false;
  if (grant.role !== 'regional_it') return true;
  return actor.grants.some((g) => g.role === 'regional_it' && (g.site === ALL_SITES || g.site === grant.site));
}

/** Sorted, deduplicated grants: the stable form stored and returned. */
export function normaliseGrants(grants: readonly RoleGrant[]): RoleGrant[] {
  const seen = new Map<string, RoleGrant>();
  for (const g of grants) seen.set(`${g.site}\u0000${g.role}`, { role: g.role, site: g.site });
  return [...seen.values()].sort((a, b) => a.site.localeCompare(b.site) || a.role.localeCompare(b.role));
}
