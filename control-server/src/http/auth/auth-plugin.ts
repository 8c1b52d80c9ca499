import { timingSafeEqual } from 'node:crypto';
import fastifyCookie from '@fastify/cookie';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import '@fastify/websocket';
import fp from 'fastify-plugin';
import type { AuditEntry, AuditLog } from '../../audit/audit-log.js';
import {
  can,
  isRouteAccess,
  rolesAt,
  type Permission,
  type Principal,
  type RouteAccess,
} from '../../auth/permissions.js';
import { ControlServerError } from '../../infra/errors.js';
import type { SessionRecord } from '../../repositories/session-repository.js';
import type { AuthService } from '../../services/auth-service.js';

export const SESSION_COOKIE = 'portail_session';
export const CSRF_HEADER = 'x-csrf-token';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** what the route requires; every route must declare it (checked when the server gets ready) */
    permission?: RouteAccess;
    /** answers an account that must still enrol TOTP (auth.totpRequiredRoles): /me, logout, TOTP setup */
    duringTotpEnrolment?: boolean;
  }
  interface FastifyRequest {
    /** who is asking: null on public routes when nobody is logged in */
    principal: Principal | null;
    /** the session behind the cookie (null without one, or in disabled mode) */
    authSession: SessionRecord | null;
  }
}

export type AuthMode = 'required' | 'disabled';

export interface AuthPluginOptions {
  mode: AuthMode;
  service: AuthService;
  audit: AuditLog;
  cookieSecure: 'auto' | 'always' | 'never';
  /** seconds; the cookie disappears from the browser when the session would end anyway */
  cookieMaxAgeS: number;
  /** origins allowed besides the page's own, for state-changing requests and /ws */
  allowedOrigins: readonly string[];
  /** bearer token a scraper may present on routes that require `metrics:read` */
  metricsToken: string | null;
}

export interface RouteInfo {
  method: string;
  url: string;
  permission: RouteAccess | undefined;
  /** the route's JSON schema (body, querystring, params), when it declares one: the API fuzz test reads it */
  schema: { body?: unknown; querystring?: unknown; params?: unknown } | undefined;
  websocket: boolean;
}

/**
 * Record every route of `app` with its declared permission, and refuse to get ready when one has
 * none. Called on the root instance before anything is registered, so no route escapes it.
 */
export function trackRoutePermissions(app: FastifyInstance): RouteInfo[] {
  const routes: RouteInfo[] = [];
  const recorded: Array<{
    method: string;
    url: string;
    config: { permission?: unknown };
    route: { schema?: RouteInfo['schema']; websocket?: boolean };
  }> = [];
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    // read when ready: a child context's onRoute hook (run after this one) may still fill `config`
    route.config ??= {};
    for (const m of methods) {
      recorded.push({
        method: String(m),
        url: route.url,
        config: route.config,
        route,
      });
    }
  });
  app.addHook('onReady', async () => {
    routes.length = 0;
    const missing: string[] = [];
    for (const r of recorded) {
      const permission = r.config.permission;
      if (!isRouteAccess(permission)) missing.push(`${r.method} ${r.url}`);
      routes.push({
        method: r.method,
        url: r.url,
        permission: permission as RouteAccess | undefined,
        schema: r.route.schema,
        websocket: r.route.websocket === true,
      });
    }
    if (missing.length > 0) {
      throw new ControlServerError(
        'SERVER_ERR_ROUTE_WITHOUT_PERMISSION',
        `routes without a valid config.permission: ${missing.join(', ')}`,
      );
    }
  });
  return routes;
}

/** The principal of a server started with `auth.mode: disabled`: allowed everything, like before accounts. */
export const AUTH_DISABLED_PRINCIPAL: Principal = Object.freeze({
  userId: null,
  username: 'anonymous',
  grants: [],
  authDisabled: true,
});

/** A Prometheus scraper with the metrics token: it may read /metrics and nothing else. */
const METRICS_SCRAPER: Principal = Object.freeze({
  userId: null,
  username: 'metrics-scraper',
  grants: [],
  authDisabled: false,
});

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

function equalSecret(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Same-origin, or listed. Browsers send Origin on every cross-origin request and on same-origin
 * non-GET ones; clients that send none (curl, the CLI, tests) are not browsers and carry no ambient
 * cookie of a victim, so they are let through (the CSRF token still applies to them).
 */
export function isOriginAllowed(req: FastifyRequest, allowed: readonly string[]): boolean {
  const site = req.headers['sec-fetch-site'];
  if (site === 'cross-site') return false;
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  if (allowed.includes(origin)) return true;
  let host: string;
  try {
    host = new URL(origin).host;
  } catch {
    // an unparsable Origin (including the literal "null" of sandboxed frames) is not a same-origin page
    return false;
  }
  return host === req.headers.host;
}

export function accessList(access: RouteAccess): readonly Permission[] {
  return typeof access === 'string' ? [access as Permission] : access;
}

/** The site a request is about: the `:site` route parameter, else a `site` query parameter. */
export function requestSite(req: FastifyRequest): string | undefined {
  const params = req.params as Record<string, unknown> | undefined;
  if (params && typeof params.site === 'string') return params.site;
  const query = req.query as Record<string, unknown> | undefined;
  if (query && typeof query.site === 'string') return query.site;
  return undefined;
}

export function auditActor(p: Principal | null): string {
  if (!p) return 'anonymous';
  return p.authDisabled ? 'anonymous (auth disabled)' : p.username;
}

/** Append an audit row about this request: who, with which roles, from where. */
export function auditRequest(
  audit: AuditLog,
  req: FastifyRequest,
  entry: Omit<AuditEntry, 'actor' | 'ip' | 'role'> & { role?: string | null },
): void {
  const p = req.principal;
  audit.append({
    actor: auditActor(p),
    role: entry.role ?? (p ? rolesAt(p, entry.site === '*' ? undefined : entry.site).join(',') || null : null),
    ip: req.ip,
    ...entry,
  });
}

export function setSessionCookie(
  req: FastifyRequest,
  reply: FastifyReply,
  opts: AuthPluginOptions,
  sessionId: string,
): void {
  reply.setCookie(SESSION_COOKIE, sessionId, {
    httpOnly: true,
    sameSite: 'strict',
    secure: opts.cookieSecure === 'always' || (opts.cookieSecure === 'auto' && req.protocol === 'https'),
    path: '/',
    maxAge: opts.cookieMaxAgeS,
  });
}

export function clearSessionCookie(reply: FastifyReply): void {
  reply.clearCookie(SESSION_COOKIE, { path: '/', httpOnly: true, sameSite: 'strict' });
}

/**
 * Refuse a WebSocket upgrade by completing it and closing at once with 1008 (policy violation) and
 * the reason: a browser sees an HTTP refusal of an upgrade only as 1006 with no detail, while 1008
 * tells the console to go to the login page instead of retrying.
 */
function refuseUpgrade(app: FastifyInstance, req: FastifyRequest, reply: FastifyReply, reason: string): void {
  reply.hijack();
  const socket = req.raw.socket;
  app.websocketServer.handleUpgrade(req.raw, socket, Buffer.alloc(0), (ws) => {
    ws.close(1008, reason);
  });
}

/**
 * Sessions, CSRF, and the permission check of every route (declared in `config.permission`, which
 * `trackRoutePermissions` makes mandatory).
 * - onRequest authenticates (401) and, for state-changing methods, checks Origin and the CSRF token (403).
 * - preHandler authorises (403) with the route's permission at the request's site (`:site`, `?site=`),
 *   or at one site at least when the route is not about one site (the handler then scopes the data).
 */
export const authPlugin = fp<AuthPluginOptions>(
  async (app, opts) => {
    await app.register(fastifyCookie);
    app.decorateRequest('principal', null);
    app.decorateRequest('authSession', null);

    app.addHook('onRequest', async (req, reply) => {
      // unmatched URLs go to the 404 handler, which has no route options and nothing to protect
      if (req.routeOptions.url === undefined) return undefined;
      const access = req.routeOptions.config.permission;
      if (!isRouteAccess(access))
        return reply.code(403).send({ error: 'FORBIDDEN', message: 'route declares no permission' });
      if (opts.mode === 'disabled') {
        req.principal = AUTH_DISABLED_PRINCIPAL;
        return undefined;
      }
      const unsafe = !SAFE_METHODS.has(req.method);
      if (unsafe && !isOriginAllowed(req, opts.allowedOrigins)) {
        req.log.warn({ origin: req.headers.origin }, 'cross-origin request refused');
        return reply.code(403).send({ error: 'ORIGIN_NOT_ALLOWED' });
      }

      const authz = req.headers.authorization;
      if (opts.metricsToken !== null && typeof authz === 'string' && accessList(access).includes('metrics:read')) {
        const m = /^Bearer\s+(\S+)$/i.exec(authz);
        if (m && equalSecret(m[1]!, opts.metricsToken)) {
          req.principal = METRICS_SCRAPER;
          return undefined;
        }
        return reply.code(401).send({ error: 'UNAUTHENTICATED', message: 'bad bearer token' });
      }

      const cookie = req.cookies[SESSION_COOKIE];
      const resolved = cookie ? opts.service.resolve(cookie) : null;
      if (resolved) {
        req.principal = resolved.principal;
        req.authSession = resolved.session;
      } else if (cookie) {
        // an expired or unknown id: make the browser forget it
        clearSessionCookie(reply);
      }
      if (access === 'public') return undefined;
      if (!resolved) {
        if (req.ws) return refuseUpgrade(app, req, reply, 'UNAUTHENTICATED');
        return reply.code(401).send({ error: 'UNAUTHENTICATED', message: 'log in first' });
      }
      if (resolved.totpEnrolmentRequired && req.routeOptions.config.duringTotpEnrolment !== true) {
        if (req.ws) return refuseUpgrade(app, req, reply, 'TOTP_ENROLMENT_REQUIRED');
        return reply.code(403).send({
          error: 'TOTP_ENROLMENT_REQUIRED',
          message: 'your role requires a second factor: enrol an authenticator app first (POST /api/auth/totp/setup)',
        });
      }
      if (unsafe) {
        const token = req.headers[CSRF_HEADER];
        if (typeof token !== 'string' || !equalSecret(token, resolved.session.csrfToken)) {
          return reply
            .code(403)
            .send({ error: 'CSRF_TOKEN_INVALID', message: `send the session's csrfToken in ${CSRF_HEADER}` });
        }
      }
      return undefined;
    });

    app.addHook('preHandler', async (req, reply) => {
      if (req.routeOptions.url === undefined) return undefined;
      const access = req.routeOptions.config.permission;
      if (access === undefined || access === 'public' || access === 'authenticated') return undefined;
      const p = req.principal;
      if (!p) return reply.code(401).send({ error: 'UNAUTHENTICATED', message: 'log in first' });
      const perms = accessList(access);
      if (p === METRICS_SCRAPER) {
        if (perms.includes('metrics:read')) return undefined;
        return reply.code(403).send({ error: 'FORBIDDEN' });
      }
      const site = requestSite(req);
      if (perms.some((perm) => can(p, perm, site))) return undefined;
      auditRequest(opts.audit, req, {
        action: 'access.denied',
        outcome: 'denied',
        site: site ?? null,
        target: `${req.method} ${req.routeOptions.url}`,
        details: { permission: perms },
      });
      if (req.ws) return refuseUpgrade(app, req, reply, 'FORBIDDEN');
      return reply.code(403).send({ error: 'FORBIDDEN', permission: perms, ...(site !== undefined ? { site } : {}) });
    });
  },
  { name: 'portail-auth' },
);
